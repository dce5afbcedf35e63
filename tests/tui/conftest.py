"""Consoles over a real host: our stdio MCP test server, the real stores, a scripted model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvals import ApprovalsConfig
from inference.backends.scripted import Script, ScriptedBackend
from settings import Settings, ToolPolicy, default_servers
from tests.host.conftest import ALL_TOOLS, stdio_test_server
from tui.app import OperatorApp


def console_settings(home: Path, **kw: Any) -> Settings:
    """Our test server (``delete_file`` is high risk, so it asks a person); the default
    ``time`` server off, to keep these tests quick."""
    servers = {
        "test": stdio_test_server(tools={"delete_file": ToolPolicy(risk="high")}),
        "time": default_servers()["time"].model_copy(update={"enabled": False}),
    }
    kw.setdefault("servers", servers)
    kw.setdefault("tools", ALL_TOOLS)
    kw.setdefault("approvals", ApprovalsConfig(default="ask", timeout_s=60))
    return Settings(home=home, **kw)


@pytest.fixture
def make_app(tmp_path: Path) -> Any:
    def make(script: Script, *, token_delay_s: float = 0.0, **kw: Any) -> OperatorApp:
        model = ScriptedBackend(script, token_delay_s=token_delay_s)
        return OperatorApp(console_settings(tmp_path / "home", **kw), model=model)

    return make
