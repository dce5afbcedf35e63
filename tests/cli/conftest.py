"""The ``agenthost`` command as a user runs it: a real process (``python -m cli``), real exit
codes. Each test has its own AGENTHOST_HOME (tests/conftest.py) and works in its tmp_path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPTED = """
[inference.backends.script]
kind = "scripted"
replies = ["scripted reply one", "scripted reply two"]
[inference.tiers]
main = ["script"]
"""


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI process: plain output, wide lines, and the repository on the
    path (configs name scripted models as ``tests.host.scripts:...``)."""
    return {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONPATH": str(REPO), **extra}


def agenthost_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def agenthost(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        agenthost_argv(*args),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
    )
