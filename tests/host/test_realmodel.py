"""End to end: the real embedded model (SmolLM2-135M on llama.cpp) drives a run over a real
stdio MCP server, and the answer uses the tool's result."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import AgentConfig, OutcomeKind
from agents.request import RunRequest
from host.host import Host
from settings import Settings
from tests.host.conftest import stdio_test_server

pytestmark = [pytest.mark.anyio, pytest.mark.realmodel]


async def test_embedded_model_calls_a_tool_and_answers(isolated_home: Path) -> None:
    settings = Settings(
        home=isolated_home,
        servers={"test": stdio_test_server()},
        agent=AgentConfig(require_tool_first=True, max_tokens_per_call=96),
    )
    async with Host(settings) as host:
        result = await host.run(RunRequest("What is 2 plus 3?", tools=("test__add",)))
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        calls = [t for s in host.store.steps(result.session_id) for t in s.tools]
        assert calls[0].name == "test__add"
        assert calls[0].arguments == {"a": 2, "b": 3}
        assert calls[0].result == "5"
        assert "5" in result.answer
        assert result.spent.output_tokens > 0
        assert host.store.get(result.session_id).status == "completed"
