"""The Python examples in README.md and docs/host.md run as written, on the embedded model and
the default MCP servers (each in its own process, as a reader would run it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in ("README.md", "docs/host.md"):
        for i, code in enumerate(BLOCK.findall((REPO / doc).read_text())):
            if "anyio.run(main)" in code:  # a whole program, not a fragment
                found.append((f"{doc}#{i + 1}", code))
    return found


@pytest.mark.realmodel
@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
def test_example_runs(where: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    env = os.environ | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=280, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{where}:\n{done.stderr[-2000:]}"
    assert done.stdout.strip(), where
