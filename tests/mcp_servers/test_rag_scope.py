"""One RAG server process, many tenants: each call reads and writes as the principal it is for
(the request's ``_meta``, sent by the host), never a tool argument; over HTTP a key without
the host role is scoped by its own tenant whatever its ``_meta`` claims. A real server, the
real index and embedding model; a scripted model for answers."""

from __future__ import annotations

import json
import os
import pydoc_data.topics
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from auth.keys import KeyStore
from core.principal import Principal
from mcp_servers.rag.server import reader
from memory.sessions import make_engine
from rag.types import Principal as Reader
from tests.keys import until_listening
from tests.mcp_servers.test_rag_server import CONFIG, REPO, free_port, payload

pytestmark = pytest.mark.anyio
ALICE = Principal("acme", "alice")
CAROL = Principal("acme", "carol")  # alice's colleague: a tenant's documents are shared
BOB = Principal("globex", "bob")
CORPORA = {"acme": ("nonlocal", "assert"), "globex": ("global", "pass")}
ENV = {"HF_HUB_OFFLINE": "1", "PYTHONPATH": REPO}


def corpora(root: Path) -> Path:
    """A folder per tenant, of sections of Python's language reference; the config beside."""
    for tenant, topics in CORPORA.items():
        (root / tenant).mkdir()
        for name in topics:
            (root / tenant / f"{name}.txt").write_text(pydoc_data.topics.topics[name])
    config = root / "agenthost.toml"
    config.write_text(CONFIG)
    return config


def of(tenant: str, found: list[dict[str, Any]], key: str = "source") -> bool:
    """Whether every hit, citation or document came from ``tenant``'s folder."""
    return all(Path(f[key]).parent.name == tenant for f in found)


async def call(client: Client, tool: str, args: dict[str, Any], who: Principal | None) -> Any:
    meta: Any = who.to_meta() if who else None
    return payload(await client.call_tool(tool, args, meta=meta))


async def documents(client: Client, who: Principal | None) -> list[dict[str, Any]]:
    meta: Any = who.to_meta() if who else None
    read = await client.read_resource("rag://documents", meta=meta, cache_mode="bypass")
    return list(json.loads(read.contents[0].text))  # type: ignore[union-attr]


def test_a_call_reads_with_its_roles_and_the_process_groups_only_in_the_process_tenant() -> None:
    own = Reader("acme", frozenset({"board"}))  # rag.tenant, rag.groups

    def on_stdio(who: Principal | None) -> Any:
        meta = who.to_meta() if who else None
        return SimpleNamespace(request_context=SimpleNamespace(meta=meta, request=None))

    assert reader(on_stdio(None), own) == own  # a call for nobody: as before
    alice = Principal("acme", "alice", frozenset({"eng"}))
    assert reader(on_stdio(alice), own) == Reader("acme", frozenset({"eng", "board"}))
    bob = Principal("globex", "bob", frozenset({"eng"}))
    assert reader(on_stdio(bob), own) == Reader("globex", frozenset({"eng"}))


async def test_one_stdio_server_keeps_each_tenants_chunks_apart(tmp_path: Path) -> None:
    config = corpora(tmp_path)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_servers.rag", "--config", str(config)],
        cwd=str(tmp_path), env={"AGENTHOST_HOME": str(tmp_path / "home"), **ENV},
    )  # fmt: skip
    async with Client(params) as client:
        for who in (ALICE, BOB):  # one collection name, two tenants: two collections
            ingest = {"paths": [who.tenant], "collection": "handbook"}
            assert (await call(client, "ingest", ingest, who))["added"] == 2
        for who in (ALICE, CAROL, BOB):
            listed = await call(client, "list_collections", {}, who)
            assert [(c["name"], c["sources"]) for c in listed] == [("handbook", 2)]
        assert await call(client, "list_collections", {}, None) == []  # rag.tenant: default

        query = {"query": "nonlocal statement", "k": 10}
        alices = (await call(client, "search", query, ALICE))["hits"]
        assert alices[0]["source"].endswith("nonlocal.txt")
        assert of("acme", alices)
        bobs = (await call(client, "search", query, BOB))["hits"]
        assert bobs
        assert of("globex", bobs)
        chunk = {"chunk_id": alices[0]["chunk_id"]}
        assert (await call(client, "get_chunk", chunk, CAROL))["text"] == alices[0]["text"]
        denied = await client.call_tool("get_chunk", chunk, meta=BOB.to_meta())  # type: ignore[arg-type]
        assert denied.is_error

        # both collections are at the same generation: only the tenant keeps the answer cache
        # from handing alice's answer to bob
        question = {"question": "What does the nonlocal statement do?"}
        first = await call(client, "answer", question, ALICE)
        assert first["citations"]
        assert of("acme", first["citations"])
        assert not first["cached"]
        assert (await call(client, "answer", question, CAROL))["cached"]
        answered = await call(client, "answer", question, BOB)
        assert not answered["cached"]
        assert of("globex", answered["hits"])
        assert of("globex", answered["citations"])

        docs = await documents(client, BOB)
        assert sorted(Path(d["path"]).name for d in docs) == ["global.txt", "pass.txt"]
        assert await documents(client, None) == []
        theirs = next(d["source_id"] for d in await documents(client, ALICE))
        with pytest.raises(MCPError):
            await client.read_resource(f"rag://documents/{theirs}", meta=BOB.to_meta())  # type: ignore[arg-type]


@pytest.fixture
def server_log(tmp_path: Path) -> Iterator[TextIO]:
    """The HTTP server's output, kept for a failing test's post-mortem."""
    with open(tmp_path / "server.log", "w") as log:
        yield log


@asynccontextmanager
async def http_server(tmp_path: Path, config: Path, log: TextIO) -> AsyncIterator[str]:
    port = free_port()
    process = await anyio.open_process(
        [sys.executable, "-m", "mcp_servers.rag", "--config", str(config),
         "--transport", "http", "--port", str(port)],
        cwd=str(tmp_path), env={**os.environ, "AGENTHOST_HOME": str(tmp_path / "home"), **ENV},
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await until_listening(port, within_s=60)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        with anyio.fail_after(30):
            await process.wait()


@asynccontextmanager
async def connected(url: str, secret: str) -> AsyncIterator[Client]:
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {secret}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def test_over_http_a_key_without_the_host_role_reads_only_its_own_tenant(
    tmp_path: Path, server_log: TextIO
) -> None:
    config = corpora(tmp_path)
    keys = KeyStore(make_engine(f"sqlite:///{tmp_path / 'home' / 'agenthost.db'}"))
    host = keys.create(tenant="ops", user="agenthost", roles=["host"]).secret
    mallory = keys.create(tenant="globex", user="mallory").secret
    async with http_server(tmp_path, config, server_log) as url:
        async with connected(url, host) as c:
            ingest = {"paths": ["acme"], "collection": "handbook"}
            assert (await call(c, "ingest", ingest, ALICE))["added"] == 2
            hits = (await call(c, "search", {"query": "nonlocal statement"}, ALICE))["hits"]
            assert hits
            assert of("acme", hits)
            assert await call(c, "list_collections", {}, None) == []  # the key's own: ops
            theirs = next(d["source_id"] for d in await documents(c, ALICE))

        async with connected(url, mallory) as c:  # claims to be alice: scoped as mallory
            assert await call(c, "list_collections", {}, ALICE) == []
            search = {"query": "nonlocal statement", "k": 10}
            assert (await call(c, "search", search, ALICE))["hits"] == []
            chunk = {"chunk_id": hits[0]["chunk_id"]}
            denied = await c.call_tool("get_chunk", chunk, meta=ALICE.to_meta())  # type: ignore[arg-type]
            assert denied.is_error
            assert await documents(c, ALICE) == []
            with pytest.raises(MCPError):
                await c.read_resource(f"rag://documents/{theirs}", meta=ALICE.to_meta())  # type: ignore[arg-type]
            ingest = {"paths": ["globex"], "collection": "handbook"}
            assert (await call(c, "ingest", ingest, ALICE))["added"] == 2  # into globex
            mine = await documents(c, ALICE)
            assert len(mine) == 2
            assert of("globex", mine, "path")

        async with connected(url, host) as c:
            for who, tenant in ((ALICE, "acme"), (BOB, "globex")):
                assert of(tenant, await documents(c, who), "path")
                listed = await call(c, "list_collections", {}, who)
                assert [(col["name"], col["sources"]) for col in listed] == [("handbook", 2)]
