"""The approval gate: what the host calls before a risky tool call runs.

``PolicyGate`` tries the policy first. When the policy says ask, the request is stored as
pending and the first answer wins: the run's ``Asker`` (an MCP client, through elicitation),
or anyone deciding the stored request (``agenthost approvals``, the TUI, the approvals MCP
server). No answer by the deadline denies. Every request and decision is in the audit log.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Protocol

import anyio

from approvals.policy import Policy
from approvals.store import ApprovalStore
from approvals.types import ApprovalRequest, Decision, NotPending


class ApprovalGate(Protocol):
    async def decide(self, request: ApprovalRequest, asker: Asker | None = None) -> Decision: ...


class Asker(Protocol):
    """Someone the run can ask directly (e.g. the MCP client that started it)."""

    async def ask(self, request: ApprovalRequest) -> Decision | None:
        """A decision, or None when this asker cannot answer (declined to, or unsupported)."""
        ...


class PolicyGate:
    def __init__(self, policy: Policy, store: ApprovalStore, *, timeout_s: float = 300.0) -> None:
        self.policy = policy
        self.store = store
        self.timeout_s = timeout_s

    async def decide(self, request: ApprovalRequest, asker: Asker | None = None) -> Decision:
        decision = self.policy.decide(request)
        if decision is not None:
            self.store.record(request, decision)
            return decision
        request = replace(request, deadline=time.time() + self.timeout_s)
        self.store.submit(request)
        answer: list[Decision] = []
        with anyio.move_on_after(self.timeout_s):
            async with anyio.create_task_group() as tg:

                async def from_store() -> None:
                    found = await self.store.wait(request.id)
                    if found is not None:
                        answer.append(found)
                    tg.cancel_scope.cancel()

                async def from_asker() -> None:
                    assert asker is not None
                    found = await asker.ask(request)
                    if found is None:
                        return  # the store (a person) may still answer
                    try:
                        self.store.decide(request.id, found)
                    except NotPending:
                        return  # someone else was first; from_store reports theirs
                    answer.append(found)
                    tg.cancel_scope.cancel()

                tg.start_soon(from_store)
                if asker is not None:
                    tg.start_soon(from_asker)
        if answer:
            return answer[0]
        if self.store.expire(request.id):
            return Decision("deny", "timeout", f"no decision within {self.timeout_s:g}s")
        row = self.store.get(request.id)  # decided in the last instant
        late = row.decision() if row else None
        return late or Decision("deny", "timeout", "no decision")
