from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own AGENTHOST_HOME and no stray config from the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("AGENTHOST_HOME", str(home))
    monkeypatch.delenv("AGENTHOST_CONFIG", raising=False)
    # Scripted models call the tools their scripts name, whatever the task says, so tests
    # offer every tool (and processes they start inherit it); tool selection is tested with
    # an explicit [tools] in tests/host/test_selection.py.
    monkeypatch.setenv("AGENTHOST_TOOLS__OFFER", "64")
    monkeypatch.chdir(tmp_path)
    return home
