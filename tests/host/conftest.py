from __future__ import annotations

import sys
from pathlib import Path

import pytest

from settings import ServerConfig, ToolsConfig

# Scripted models call the tools their script names, whatever the task says: offer them all
# (tool selection itself is tested in test_selection.py, with real servers).
ALL_TOOLS = ToolsConfig(offer=64, require_when="never")

TEST_SERVER = Path(__file__).with_name("mcp_test_server.py")


def stdio_test_server(**changes: object) -> ServerConfig:
    """Our stdio test server, with short timeouts so failures show quickly."""
    base: dict[str, object] = {
        "command": sys.executable,
        "args": [str(TEST_SERVER)],
        "call_timeout_s": 5.0,
        "start_timeout_s": 15.0,
        "backoff_initial_s": 0.1,
    }
    return ServerConfig.model_validate(base | changes)


@pytest.fixture
def server_config() -> ServerConfig:
    return stdio_test_server()
