"""Dynamic tool selection over real servers: 32 tools from six MCP servers (time, memory, rag,
approvals, sandbox, the test server), ranked for each task; the right tool must be offered in
the top 5 for at least 90% of the cases. The ranker's pieces alone come after."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from agents.config import AgentConfig
from agents.request import RunRequest
from agents.state import OutcomeKind
from host.host import Host
from host.selection import ToolRanker, words
from host.toolbox import SEARCH_TOOLS
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from inference.types import ChatRequest, ToolSpec
from settings import ServerConfig, Settings, ToolsConfig
from tests.host.conftest import TEST_SERVER

pytestmark = pytest.mark.anyio

# task -> the tool that should serve it; phrased as users would, often without the tool's words
CASES = {
    "What is the current time in the Europe/Paris timezone?": "time__get_current_time",
    "If it is 9:30 in Tokyo, what time is it in Lima?": "time__convert_time",
    "Convert 14:00 New York time to Berlin time.": "time__convert_time",
    "Remember that my favourite colour is teal.": "memory__remember",
    "What did I tell you earlier about the staging server's port?": "memory__recall",
    "Look up in my notes which database we use.": "memory__recall",
    "Forget the note about my old address.": "memory__forget",
    "Show me all my saved notes.": "memory__list_notes",
    "Summarise session ses_1234 into a note.": "memory__summarize_session",
    "Find passages in the docs about the nonlocal statement.": "rag__search",
    "Search the documents for 'exit codes' and show the passages.": "rag__search",
    "Using the documents, answer: what does the with statement do? Cite sources.": "rag__answer",
    "Add the files in ./handbook to the knowledge base collection handbook.": "rag__ingest",
    "Which document collections are available?": "rag__list_collections",
    "Show the full text of chunk c_42.": "rag__get_chunk",
    "Which tool calls are waiting for approval?": "approvals__list_pending",
    "Approve request apr_17.": "approvals__approve",
    "Reject approval apr_9, it deletes too much.": "approvals__deny",
    "Check that the approval audit log has not been tampered with.": "approvals__verify_audit",
    "Run this Python code: print(sum(range(10)))": "sandbox__run_python",
    "Compute the 20th Fibonacci number with a Python program.": "sandbox__run_python",
    "Execute the shell command `uname -a`.": "sandbox__run_shell",
    "Save this CSV text as data.csv in the sandbox.": "sandbox__upload_file",
    "Read back the file results.txt from the sandbox.": "sandbox__download_file",
    "Which files are in my sandbox session?": "sandbox__list_files",
    "Wipe all files in the sandbox session.": "sandbox__reset_session",
    "What is 17 plus 25?": "test__add",
    "Delete the file /tmp/old.log.": "test__delete_file",
    "What is the process id of the test server?": "test__pid",
    "How many times has the counter been called?": "test__counter",
    "Give me 500 characters of filler text.": "test__blob",
}


def server(module: str, **env: str) -> ServerConfig:
    return ServerConfig(
        command=sys.executable,
        args=["-m", f"mcp_servers.{module}"],
        env=env,
        start_timeout_s=120,
        call_timeout_s=60,
    )


def many_servers() -> dict[str, ServerConfig]:
    weak = {  # listing the sandbox's tools needs no isolation: the tests never run code there
        "AGENTHOST_SANDBOX__ISOLATION": "weak",
        "AGENTHOST_SANDBOX__ALLOW_WEAK_ISOLATION": "true",
    }
    return {
        "memory": ServerConfig(
            command=sys.executable,
            args=["-m", "mcp_servers.memory", "--embedder", "none", "--no-model"],
            start_timeout_s=120,
        ),
        "rag": server("rag"),
        "approvals": server("approvals"),
        "sandbox": server("sandbox", **weak),
        "test": ServerConfig(command=sys.executable, args=[str(TEST_SERVER)]),
    }


async def test_the_right_tool_is_offered_among_many(isolated_home: Path) -> None:
    settings = Settings(home=isolated_home, servers=many_servers(), tools=ToolsConfig())
    async with Host(settings, model=ScriptedBackend([])) as host:
        specs = [e.spec for e in host.toolbox.entries().values()]
        assert len(specs) >= 20
        assert len({s.name.split("__")[0] for s in specs}) >= 5
        ranker = host.toolbox.ranker
        assert ranker is not None
        assert ranker.needs_embeddings(len(specs))
        await anyio.to_thread.run_sync(ranker.load)  # the host started it; wait for it here
        keywords = ToolRanker(ToolsConfig(ranking="keyword"))
        hits = keyword_hits = 0
        misses = []
        for task, wanted in CASES.items():
            run = host.toolbox.for_run("ses_x")
            run.task = task
            offered = [s.name for s in run.specs()][:5]
            hits += wanted in offered
            keyword_hits += wanted in [s.name for s, _ in keywords.rank(specs, task)[:5]]
            if wanted not in offered:
                misses.append((task, wanted, offered))
        share = hits / len(CASES)
        print(f"top-5: {share:.2f} (keywords alone {keyword_hits / len(CASES):.2f})", misses)
        assert share >= 0.9, misses


async def test_hidden_tools_are_one_search_away_and_the_request_fits(isolated_home: Path) -> None:
    """A run offered a few of many tools finds the one it needs with search_tools, calls it on
    the next turn; every request stays within the context window with its tool schemas."""

    def script(request: ChatRequest) -> Turn:
        names = {t.name for t in request.tools}
        done = [m for m in request.messages if m.role == "tool"]
        if not done:
            assert "test__pid" not in names
            assert SEARCH_TOOLS.name in names
            return Turn("", (ScriptedCall("search_tools", {"query": "process id"}),))
        if len(done) == 1:
            assert "test__pid" in names  # found, so now offered
            return Turn("", (ScriptedCall("test__pid", {}),))
        return Turn(f"pid {done[-1].content}")

    model = ScriptedBackend(script)
    settings = Settings(
        home=isolated_home,
        servers=many_servers(),
        tools=ToolsConfig(offer=3),
        agent=AgentConfig(context_tokens=4096, max_tokens_per_call=256),
    )
    async with Host(settings, model=model) as host:
        result = await host.run(RunRequest("Tell me about the weather on Mars."))
    assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
    assert result.answer.startswith("pid ")
    for request in model.requests:
        assert len(request.tools) <= 3 + 3 + 1  # offered + found (up to 4, ranked) + search
        prompt = sum(len(m.content) for m in request.messages) / 3.5
        assert prompt + request.max_tokens < 4096


def test_words_split_names_and_drop_filler() -> None:
    assert words("get_current_time") == ["current", "time"]
    assert words("listPendingApprovals of the user") == ["list", "pend", "approval", "user"]


def test_a_task_naming_a_tool_requires_one_first_and_chat_does_not() -> None:
    ranker = ToolRanker(ToolsConfig())
    time_tool = ToolSpec("time__get_current_time", "Get current time in a specific timezone", {})
    assert ranker.name_match(time_tool, "What is the current time in Paris?") == 1.0
    assert ranker.name_match(time_tool, "Tell me a joke about time") == 0.5


async def test_the_first_turn_calls_a_tool_when_the_task_names_one(isolated_home: Path) -> None:
    asked: list[str] = []

    def script(request: ChatRequest) -> Turn:
        asked.append(request.tool_choice)
        if request.tool_choice == "required":
            return Turn("", (ScriptedCall("test__pid", {}),))
        return Turn("ok")

    settings = Settings(
        home=isolated_home,
        servers={"test": ServerConfig(command=sys.executable, args=[str(TEST_SERVER)])},
        tools=ToolsConfig(),
    )
    async with Host(settings, model=ScriptedBackend(script)) as host:
        await host.run("What is the server's process id (pid)?")
        await host.run("Say hello.")
    assert asked == ["required", "auto", "auto"]


async def test_keyword_ranking_needs_no_model() -> None:
    ranker = ToolRanker(ToolsConfig(ranking="keyword"), encoder=None)
    specs = [
        ToolSpec("a__remember", "Store a note", {}),
        ToolSpec("b__run_python", "Run a Python program", {}),
    ]
    assert not ranker.needs_embeddings(100)
    best, _ = ranker.rank(specs, "run this python snippet")[0]
    assert best.name == "b__run_python"
