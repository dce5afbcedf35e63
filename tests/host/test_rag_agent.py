"""Knowledge through an agent run: the host starts the RAG MCP server over stdio against an
ingested folder, the agent calls ``rag__answer`` / ``rag__search``, and its final answer cites
the source. The real index and embedding model in the server; the agent's model is scripted
(the loop's logic) or the embedded SmolLM2 (the real thing)."""

from __future__ import annotations

import json
import pydoc_data.topics
import re
import sys
from pathlib import Path

import pytest

from agents import AgentConfig, OutcomeKind
from agents.request import RunRequest
from host.host import Host
from inference import ChatRequest
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from rag.config import RagConfig
from rag.knowledge import Knowledge
from settings import ServerConfig, Settings

pytestmark = pytest.mark.anyio
REPO = str(Path(__file__).parents[2])

# The RAG server's own model (for `answer`) is scripted here; its retrieval is real.
SERVER_CONFIG = """
[rag.retrieval]
k = 2
[inference.backends.script]
kind = "scripted"
replies = ["It rebinds names in the nearest enclosing function scope [1]."]
[inference.tiers]
main = ["script"]
"""


def ingested(home: Path, tmp_path: Path) -> None:
    """A small folder of real documentation, ingested where the server will look."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("nonlocal", "global", "assert", "pass"):
        (docs / f"{name}.txt").write_text(pydoc_data.topics.topics[name])
    kn = Knowledge(home / "rag", RagConfig())
    try:
        report = kn.ingest([docs], "pyref", tenant="default")
    finally:
        kn.close()
    assert report.added == 4


def rag_server(home: Path, tmp_path: Path, config: str | None = None) -> ServerConfig:
    args = ["-m", "mcp_servers.rag"]
    if config is not None:
        path = tmp_path / "rag-server.toml"
        path.write_text(config)
        args += ["--config", str(path)]
    return ServerConfig(
        command=sys.executable,
        args=args,
        cwd=str(tmp_path),
        env={"AGENTHOST_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": REPO},
        call_timeout_s=120,
        start_timeout_s=60,
    )


def researcher(request: ChatRequest) -> Turn:
    """Ask the knowledge base, then answer with its text and the source it cites."""
    task = next(m.content for m in request.messages if m.role == "user")
    results = [m.content for m in request.messages if m.role == "tool"]
    if not results:
        return Turn("", (ScriptedCall("rag__answer", {"question": task}),))
    answer = json.loads(results[0])
    cited = answer["citations"][0]
    span = cited["span"]
    source = Path(cited["source"]).name
    return Turn(f"{answer['text']} ({source}:{span['line_start']}-{span['line_end']})")


async def test_agent_answers_with_a_citation_from_the_rag_server(
    isolated_home: Path, tmp_path: Path
) -> None:
    ingested(isolated_home, tmp_path)
    settings = Settings(
        home=isolated_home, servers={"rag": rag_server(isolated_home, tmp_path, SERVER_CONFIG)}
    )
    model = ScriptedBackend(researcher)
    async with Host(settings, model=model) as host:
        result = await host.run(
            RunRequest("What does the nonlocal statement do?", tools=("rag__*",))
        )
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        calls = [t for s in host.store.steps(result.session_id) for t in s.tools]
    offered = {t.name for t in model.requests[0].tools}
    assert {"rag__search", "rag__answer", "rag__get_chunk"} <= offered
    assert [c.name for c in calls] == ["rag__answer"]
    answer = json.loads(calls[0].result)
    assert not answer["refused"]
    assert answer["citations"][0]["source"].endswith("nonlocal.txt")
    assert re.fullmatch(
        r"It rebinds names in the nearest enclosing function scope \[1\]\. "
        r"\(nonlocal\.txt:\d+-\d+\)",
        result.answer,
    ), result.answer


@pytest.mark.realmodel
@pytest.mark.slow  # 153 s on 2 cores shared with two other model runs (three model loads)
async def test_real_model_searches_the_rag_server(isolated_home: Path, tmp_path: Path) -> None:
    ingested(isolated_home, tmp_path)
    settings = Settings(
        home=isolated_home,
        servers={"rag": rag_server(isolated_home, tmp_path)},
        agent=AgentConfig(require_tool_first=True, max_tokens_per_call=96),
    )
    async with Host(settings) as host:
        result = await host.run(
            RunRequest(
                "Search the documents: what does the nonlocal statement do?", tools=("rag__search",)
            )
        )
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        calls = [t for s in host.store.steps(result.session_id) for t in s.tools]
    assert calls[0].name == "rag__search"
    assert calls[0].arguments["query"].strip()
    found = json.loads(calls[0].result)
    assert found["hits"], found
    assert all(Path(h["source"]).parent == tmp_path / "docs" for h in found["hits"])
    assert result.answer.strip()
