"""``python -m cli``: the ``agenthost`` command."""

from cli import main

main()
