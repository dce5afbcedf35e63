"""The session store on both dialects: SQLite (default) and a real PostgreSQL (pgserver)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents import Budget, Outcome, OutcomeKind, RunState, Span, Step, ToolRecord
from agents.budget import BudgetKind, Exhaustion, Spent
from agents.request import RunRequest
from agents.state import Attachment, PlanState, PlanStep
from core.ids import AmbiguousId, short
from core.principal import Principal
from host.host import Host
from inference import Message, ToolCall
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from memory.sessions import SessionNotFound, SessionStore
from settings import Settings
from tests.host.conftest import stdio_test_server


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'sessions.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = SessionStore(url)
    yield store
    store.close()


def a_state() -> RunState:
    state = RunState.new(
        "add things",
        agent="plan",
        principal=Principal("acme", "alice"),
        budget=Budget(max_steps=5, max_cost_usd=0.5),
    )
    call = ToolCall("call_1", "test__add", {"a": 1, "b": 2})
    state.messages = [
        Message.system("sys"),
        Message.user("add things"),
        Message.assistant("", (call,)),
        Message.tool("call_1", "3", "test__add"),
    ]
    state.steps = [
        Step(
            1,
            "act",
            "thinking",
            [ToolRecord("call_1", "test__add", {"a": 1, "b": 2}, "3")],
            input_tokens=10,
            output_tokens=5,
            cost_usd=0.001,
            model="m",
        )
    ]
    state.spent = Spent(1, 10, 5, 0.001, 0.2)
    state.plan = PlanState([PlanStep("add", ("test__add",))], results={0: "3"})
    return state


def test_checkpoint_and_load_round_trip(store: SessionStore) -> None:
    state = a_state()
    store.save(state, state.steps[0])
    store.add_span(
        Span(state.trace_id, "tool", "test__add", attributes={"gen_ai.tool.name": "x"}),
        state.session_id,
    )
    state.messages.append(Message.assistant("3"))
    state.steps.append(Step(2, "answer", "3"))
    state.outcome = Outcome(
        OutcomeKind.BUDGET_EXHAUSTED, "out", Exhaustion(BudgetKind.COST, 0.5, 0.51, "user:alice")
    )
    store.save(state, state.steps[1])

    fresh = SessionStore(store.url)
    loaded = fresh.load(state.session_id)
    assert loaded.messages == state.messages
    assert [s.index for s in loaded.steps] == [1, 2]
    assert loaded.steps[0].tools[0].result == "3"
    assert loaded.plan is not None
    assert loaded.plan.results == {0: "3"}
    assert loaded.budget == state.budget
    assert loaded.outcome == state.outcome
    assert loaded.spent == state.spent
    assert [s.name for s in fresh.spans(state.trace_id)] == ["test__add"]
    assert fresh.get(state.session_id).status == "budget_exhausted"
    with pytest.raises(SessionNotFound):
        fresh.load("ses_nope")


def test_compaction_rewrites_the_stored_context(store: SessionStore) -> None:
    state = a_state()
    store.save(state)
    state.messages = [state.messages[0], state.messages[1], Message.user("summary")]
    store.save(state)
    assert [m.content for m in SessionStore(store.url).load(state.session_id).messages] == [
        "sys",
        "add things",
        "summary",
    ]


def test_spent_by_user_and_tenant(store: SessionStore) -> None:
    # unique names: the PostgreSQL database is shared by the module's tests
    alice, bob, acme = (f"{name}-{uuid.uuid4().hex[:6]}" for name in ("alice", "bob", "acme"))
    first, second = a_state(), a_state()
    first.principal, second.principal = Principal(acme, alice), Principal(acme, bob)
    store.save(first)
    store.save(second)
    assert store.spent_by(user=alice).steps == 1
    assert store.spent_by(tenant=acme).steps == 2
    assert store.spent_by(tenant=acme, exclude=first.session_id).steps == 1
    assert store.spent_by(user="carol-nobody") == Spent()


@pytest.mark.anyio
async def test_a_host_run_on_postgres(postgres_url: str, isolated_home: Path) -> None:
    model = ScriptedBackend([Turn("", (ScriptedCall("test__add", {"a": 1, "b": 2}),)), Turn("3")])
    settings = Settings(
        home=isolated_home, database_url=postgres_url, servers={"test": stdio_test_server()}
    )
    async with Host(settings, model=model) as host:
        result = await host.run(RunRequest("add", principal=Principal.of(user="alice")))
        assert result.outcome.kind is OutcomeKind.COMPLETED
    store = SessionStore(postgres_url)
    assert store.get(result.session_id).status == "completed"
    assert store.steps(result.session_id)[0].tools[0].result == "3"


def test_a_unique_prefix_names_a_session_like_git(store: SessionStore) -> None:
    """Tables show ``core.ids.short``; every command that takes an id takes a prefix."""
    first, second = a_state(), a_state()
    first.session_id, second.session_id = "ses_4b4ec085bd5d46f2", "ses_4b4ef00000000000"
    first.steps[0].tools[0] = ToolRecord(
        "call_1",
        "test__add",
        {},
        "3",
        attachments=(Attachment("image", "image/png", "iVBO", size=3),),
    )
    store.save(first, first.steps[0])
    store.save(second, second.steps[0])
    assert store.get("4b4ec0").id == first.session_id
    assert store.get("ses_4b4ec085").id == first.session_id
    assert store.load("4b4ef").session_id == second.session_id
    # attachments come back as they went in
    assert store.load("4b4ec0").steps[0].tools[0].attachments[0].mime_type == "image/png"
    with pytest.raises(AmbiguousId, match="matches 2 sessions"):
        store.get("4b4e")
    with pytest.raises(SessionNotFound):
        store.get("4b4")  # too short to be a prefix
    with pytest.raises(SessionNotFound):
        store.get("ffff")
    assert short(first.session_id) == "4b4ec085"
