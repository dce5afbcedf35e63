"""Approvals: policy rules, the persisted requests, the hash-chained audit log, and the gate."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from approvals import (
    ApprovalRequest,
    ApprovalStore,
    Decision,
    NotPending,
    Policy,
    PolicyError,
    PolicyGate,
    PolicyRule,
)
from core.ids import short
from memory.sessions import make_engine


def request(tool: str = "files__delete", risk: str = "high", **args: object) -> ApprovalRequest:
    return ApprovalRequest("ses_1", tool, dict(args) or {"path": "/tmp/x"}, risk, role="ops")  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> ApprovalStore:
    return ApprovalStore(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))


def test_rules_first_match_wins_then_the_default() -> None:
    policy = Policy(
        default="deny",
        rules=[
            PolicyRule(tool="files__*", args='"/tmp/', action="allow"),
            PolicyRule(tool="files__*", max_risk="medium", action="allow"),
            PolicyRule(tool="*", role="ops", action="deny", reason="ops may not"),
        ],
    )
    assert policy.decide(request(path="/tmp/a")) == Decision(
        "approve", "policy", "rule 1 (files__*) says allow"
    )
    assert policy.decide(request(risk="medium", path="/etc/a")).approved  # type: ignore[union-attr]
    denied = policy.decide(request(path="/etc/a"))
    assert denied is not None
    assert (denied.action, denied.reason) == ("deny", "ops may not")
    assert Policy(default="ask").decide(request()) is None
    assert Policy(default="allow").decide(request()).approved  # type: ignore[union-attr]


def test_policy_file_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        Policy.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\ntool = "x"\naction = "maybe"\n')
    with pytest.raises(PolicyError, match=r"bad\.toml"):
        Policy.load(bad)
    bad.write_text('[[rules]]\nargs = "("\naction = "deny"\n')
    with pytest.raises(PolicyError, match="invalid regex"):
        Policy.load(bad)


def test_decisions_are_final_and_the_audit_chain_is_tamper_evident(store: ApprovalStore) -> None:
    first, second = request(), request(path="/tmp/y")
    store.submit(first)
    store.record(second, Decision("deny", "policy", "no"))
    store.decide(first.id, Decision("edit", "alice", "narrower", {"path": "/tmp/x.bak"}))
    with pytest.raises(NotPending, match="already edited"):
        store.decide(first.id, Decision("approve", "bob"))
    row = store.get(first.id)
    assert row is not None
    assert row.decision() == Decision("edit", "alice", "narrower", {"path": "/tmp/x.bak"})
    assert [a.event for a in store.audit()] == ["requested", "requested", "denied", "edited"]
    assert store.verify() == (True, "4 entries, chain intact")

    with store.engine.begin() as conn:  # someone edits history...
        conn.execute(text("UPDATE audit SET event = 'approved' WHERE seq = 3"))
    assert store.verify() == (False, "entry 3 was altered")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit SET event = 'denied' WHERE seq = 3"))
        conn.execute(text("DELETE FROM audit WHERE seq = 2"))
    assert store.verify() == (False, "entry 2 is missing (next is 3)")


@pytest.mark.anyio
async def test_ask_is_answered_by_whoever_decides_the_stored_request(store: ApprovalStore) -> None:
    gate = PolicyGate(Policy(default="ask"), store, timeout_s=10)
    asked = request()
    decision: list[Decision] = []

    async def run() -> None:
        decision.append(await gate.decide(asked))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        with anyio.fail_after(5):
            while not store.pending():  # noqa: ASYNC110 - another task submits it
                await anyio.sleep(0.02)
        pending = store.pending()[0]
        assert pending.tool == "files__delete"
        assert pending.deadline is not None
        store.decide(pending.id, Decision("approve", "cli:alice", "fine"))
    assert decision == [Decision("approve", "cli:alice", "fine")]


@pytest.mark.anyio
async def test_unanswered_requests_are_denied_at_the_deadline(store: ApprovalStore) -> None:
    gate = PolicyGate(Policy(default="ask"), store, timeout_s=0.3)
    decision = await gate.decide(request())
    assert (decision.action, decision.by) == ("deny", "timeout")
    assert store.recent()[0].status == "expired"
    assert store.verify()[0]


class FixedAsker:
    def __init__(self, answer: Decision | None) -> None:
        self.answer = answer
        self.asked: list[ApprovalRequest] = []

    async def ask(self, request: ApprovalRequest) -> Decision | None:
        self.asked.append(request)
        return self.answer


@pytest.mark.anyio
async def test_the_runs_asker_can_answer(store: ApprovalStore) -> None:
    gate = PolicyGate(Policy(default="ask"), store, timeout_s=5)
    asker = FixedAsker(Decision("deny", "mcp-client", "user declined"))
    decision = await gate.decide(request(), asker)
    assert decision == Decision("deny", "mcp-client", "user declined")
    assert store.recent()[0].status == "denied"
    # an asker that cannot answer leaves the request to the store (here: the deadline)
    quiet = PolicyGate(Policy(default="ask"), store, timeout_s=0.3)
    assert (await quiet.decide(request(), FixedAsker(None))).by == "timeout"


def test_a_unique_prefix_names_an_approval(store: ApprovalStore) -> None:
    first, second = request("fs__write"), request("fs__delete")
    store.submit(first)
    store.submit(second)
    bare = short(first.id)
    found = store.get(bare)
    assert found is not None
    assert found.id == first.id
    assert store.decide(bare, Decision("approve", "ops", "fine")).status == "approved"
    with pytest.raises(NotPending, match="already approved"):
        store.decide(first.id, Decision("deny", "ops", "late"))
    assert store.get("ffffffff") is None
    assert store.get(short(second.id)).status == "pending"  # type: ignore[union-attr]
