"""The session store on both dialects: SQLite (default) and a real PostgreSQL (pgserver)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
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


def test_a_principal_finds_only_the_sessions_it_may_see(store: SessionStore) -> None:
    """``visible_to``: its own sessions; an admin's, its tenant's; never another tenant's.
    Another's id, exact or a prefix, is ``SessionNotFound`` exactly as an unknown one is,
    and never makes a prefix ambiguous."""
    tag = uuid.uuid4().hex[:8]  # the PostgreSQL database is shared by the module's tests
    acme, globex = f"acme-{tag}", f"globex-{tag}"
    alice, bob, carol = Principal(acme, "alice"), Principal(acme, "bob"), Principal(globex, "c")
    admin = Principal(acme, "root", frozenset({"admin"}))
    states = {}
    for who, digits in ((alice, "0"), (bob, "1"), (carol, "2")):
        state = a_state()
        state.principal = who
        state.session_id = f"ses_{tag}{digits * 8}"  # all three share the prefix `tag`
        store.save(state)
        states[who.user] = state.session_id
    a, b, c = states["alice"], states["bob"], states["c"]

    def listed(**kw: object) -> set[str]:
        return {r.id for r in store.recent(limit=500, **kw)}  # type: ignore[arg-type]

    assert listed(visible_to=alice) & {a, b, c} == {a}
    assert listed(visible_to=carol) & {a, b, c} == {c}
    assert listed(visible_to=admin) & {a, b, c} == {a, b}
    assert listed(tenant=acme) == {a, b}
    assert listed(tenant=acme, user="bob") == {b}
    assert listed(visible_to=admin, user="bob") == {b}  # filters and visibility both hold
    assert listed(visible_to=carol, tenant=acme) == set()
    assert {a, b, c} <= listed()  # no principal: every session (stdio, the CLI)

    assert store.get(a, visible_to=alice).id == a
    assert store.get(b, visible_to=admin).id == b
    assert store.load(a, visible_to=admin).principal == alice
    assert store.resolve(tag + "0", visible_to=alice) == a
    # the bare prefix is ambiguous for whoever sees several, unique for one who sees one
    with pytest.raises(AmbiguousId):
        store.resolve(tag, visible_to=admin)
    assert store.resolve(tag, visible_to=carol) == c

    def refusal(method: Callable[..., object], ref: str, who: Principal) -> str:
        with pytest.raises(SessionNotFound) as caught:
            method(ref, visible_to=who)
        return str(caught.value)

    unknown = f"ses_{tag}99999999"
    for other, who in ((c, alice), (a, carol), (c, admin), (b, alice)):
        for method in (store.get, store.load, store.resolve):
            said = refusal(method, other, who)
            assert said == refusal(method, unknown, who).replace(unknown, other)
    assert refusal(store.get, tag + "2", alice) == f"no session '{tag}2'"
