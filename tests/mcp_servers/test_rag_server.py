"""The RAG MCP server as a client sees it: a real process over stdio, the real index and
embedding model, a scripted model for answers (the real one is covered in tests/rag)."""

from __future__ import annotations

import json
import os
import pydoc_data.topics
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.keys import bearer_headers, until_listening

pytestmark = pytest.mark.anyio
REPO = str(Path(__file__).parents[2])

CONFIG = """
[rag.retrieval]
k = 3
[inference.backends.script]
kind = "scripted"
replies = ["Names in the nearest enclosing scope are rebound [1]."]
[inference.tiers]
main = ["script"]
"""


@pytest.fixture
def errlog(tmp_path: Path) -> Iterator[TextIO]:
    """The server's stderr, kept for a failing test's post-mortem."""
    with open(tmp_path / "server.log", "w") as log:
        yield log


@asynccontextmanager
async def session(tmp_path: Path, tenant: str, errlog: TextIO) -> AsyncIterator[ClientSession]:
    config = tmp_path / "agenthost.toml"
    config.write_text(CONFIG)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_servers.rag", "--config", str(config)],
        cwd=str(tmp_path),
        env={
            "AGENTHOST_HOME": str(tmp_path / "home"),
            "AGENTHOST_RAG__TENANT": tenant,
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": REPO,
        },
    )
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as s,
    ):
        await s.initialize()
        yield s


def payload(result: types.CallToolResult) -> Any:
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None
    return data.get("result", data)


async def test_tools_resources_and_tenant_isolation_over_stdio(
    tmp_path: Path, errlog: TextIO
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("nonlocal", "assert", "pass"):
        (docs / f"{name}.txt").write_text(pydoc_data.topics.topics[name])

    async with session(tmp_path, "acme", errlog) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert set(tools) == {"search", "answer", "ingest", "get_chunk", "list_collections"}
        for tool in tools.values():
            assert "tenant" not in json.dumps(tool.input_schema)

        report = payload(await s.call_tool("ingest", {"paths": ["docs"], "collection": "py"}))
        assert report["added"] == 3
        outside = await s.call_tool("ingest", {"paths": ["/etc"], "collection": "py"})
        assert outside.is_error

        cols = payload(await s.call_tool("list_collections", {}))
        assert [c["name"] for c in cols] == ["py"]

        found = payload(await s.call_tool("search", {"query": "nonlocal statement"}))
        assert found["expansion"] is None
        hits = found["hits"]
        assert len(hits) == 3
        assert hits[0]["source"].endswith("nonlocal.txt")
        # the scripted model's reply is no JSON: expansion falls back, and says so
        args = {"query": "nonlocal statement", "expand": "multi"}
        expanded = payload(await s.call_tool("search", args))
        assert "did not parse" in expanded["expansion"]["note"]
        assert [h["chunk_id"] for h in expanded["hits"]] == [h["chunk_id"] for h in hits]
        bad = await s.call_tool("search", {"query": "x", "expand": "wide"})
        assert bad.is_error
        chunk = payload(await s.call_tool("get_chunk", {"chunk_id": hits[0]["chunk_id"]}))
        assert chunk["text"] == hits[0]["text"]
        missing = await s.call_tool("get_chunk", {"chunk_id": "nope"})
        assert missing.is_error

        answer = payload(
            await s.call_tool(
                "answer", {"question": "What does nonlocal do?", "collections": ["py"]}
            )
        )
        assert not answer["refused"]
        assert answer["citations"][0]["source"].endswith("nonlocal.txt")
        unknown = await s.call_tool("search", {"query": "x", "collections": ["nope"]})
        assert unknown.is_error
        assert "no collection 'nope'" in str(unknown.content)

        templates = (await s.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["rag://documents/{source_id}"]
        listing = await s.read_resource("rag://documents")
        documents = json.loads(listing.contents[0].text)  # type: ignore[union-attr]
        assert len(documents) == 3
        first = documents[0]
        doc = await s.read_resource(f"rag://documents/{first['source_id']}")
        assert first["path"] in doc.contents[0].text  # type: ignore[union-attr]

    # the same index served to another tenant shows none of it
    async with session(tmp_path, "globex", errlog) as s:
        assert payload(await s.call_tool("list_collections", {})) == []
        result = await s.call_tool("search", {"query": "nonlocal statement"})
        assert payload(result)["hits"] == []
        denied = await s.call_tool("get_chunk", {"chunk_id": hits[0]["chunk_id"]})
        assert denied.is_error


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_streamable_http_transport(tmp_path: Path, errlog: TextIO) -> None:
    port = free_port()
    env = {**os.environ, "AGENTHOST_HOME": str(tmp_path / "home"), "PYTHONPATH": REPO}
    proc = await anyio.open_process(
        [sys.executable, "-m", "mcp_servers.rag", "--transport", "http", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=errlog, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await until_listening(port, within_s=60)
        url = f"http://127.0.0.1:{port}/mcp"
        async with httpx.AsyncClient() as anonymous:  # no key: refused
            assert (await anonymous.post(url, json={})).status_code == 401
        http = create_mcp_http_client(headers=bearer_headers(tmp_path / "home"))
        async with (
            http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as s,
        ):
            await s.initialize()
            tools = {t.name for t in (await s.list_tools()).tools}
            assert "answer" in tools
            assert payload(await s.call_tool("list_collections", {})) == []
    finally:
        proc.terminate()
        with anyio.fail_after(30):
            await proc.wait()
