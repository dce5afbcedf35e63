"""The RAG server driven by the MCP project's own client, MCP Inspector (its CLI mode), exactly
as docs/rag.md tells a newcomer to: list the tools, ingest a folder, search, ask. The inspector
comes from npm via ``make node-servers``; nothing here reaches the network."""

from __future__ import annotations

import json
import pydoc_data.topics
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

INSPECTOR = Path(__file__).resolve().parents[2] / ".cache/node/node_modules/.bin/mcp-inspector"
pytestmark = pytest.mark.skipif(
    not INSPECTOR.exists() or shutil.which("node") is None,
    reason="MCP Inspector not installed: `make node-servers` needs node and npm",
)

# The server's model for `answer` is scripted; retrieval is the real index and MiniLM.
CONFIG = """
[inference.backends.script]
kind = "scripted"
replies = ["It rebinds names in the nearest enclosing function scope [1]."]
[inference.tiers]
main = ["script"]
"""


def inspect(cwd: Path, *args: str) -> Any:
    """One inspector CLI call against a fresh ``python -m mcp_servers.rag`` over stdio. The
    inspector hands the server only the environment given with ``-e``."""
    env = [f"AGENTHOST_HOME={cwd / 'home'}", f"AGENTHOST_CONFIG={cwd / 'rag.toml'}"]
    command = [str(INSPECTOR), "--cli", *(a for e in env for a in ("-e", e))]
    command += ["-e", "HF_HUB_OFFLINE=1", sys.executable, "-m", "mcp_servers.rag", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_inspector_lists_ingests_searches_and_answers(tmp_path: Path) -> None:
    (tmp_path / "rag.toml").write_text(CONFIG)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("nonlocal", "global", "pass"):
        (docs / f"{name}.txt").write_text(pydoc_data.topics.topics[name])

    listed = inspect(tmp_path, "--method", "tools/list")
    names = {t["name"] for t in listed["tools"]}
    assert names == {"search", "answer", "ingest", "get_chunk", "list_collections"}

    call = ["--method", "tools/call", "--tool-name"]
    report = inspect(
        tmp_path, *call, "ingest", "--tool-arg", 'paths=["docs"]', "--tool-arg", "collection=py"
    )
    assert report["structuredContent"]["added"] == 3

    found = inspect(tmp_path, *call, "search", "--tool-arg", "query=nonlocal statement")
    assert not found["isError"]
    assert found["structuredContent"]["hits"][0]["source"] == str(docs / "nonlocal.txt")

    answer = inspect(tmp_path, *call, "answer", "--tool-arg", "question=What does nonlocal do?")
    result = answer["structuredContent"]
    assert result["text"].endswith("[1].")
    assert result["citations"][0]["source"] == str(docs / "nonlocal.txt")
