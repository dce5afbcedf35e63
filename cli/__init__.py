"""The ``agenthost`` command line: a layer above the engine (``host``, ``agents``, ``rag``, ...),
which never imports it. ``cli.app`` is the root app; each verb group is a module of its own,
and ``cli.boundary`` is the one place errors become a line and an exit code."""

from cli.app import app, main

__all__ = ["app", "main"]
