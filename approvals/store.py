"""Approval requests and decisions, persisted; and the append-only, hash-chained audit log.

A request is ``pending`` until decided (``approved``, ``denied``, ``edited``) or until its
deadline passes (``expired``, which denies). Every event (requested, decided, expired) is
appended to ``audit``: each entry carries the SHA-256 of the previous one, so editing or
deleting any entry breaks the chain, and ``verify`` says where.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import anyio
from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from approvals.types import ApprovalRequest, Decision, NotPending
from core import ids
from core.db import create_tables

GENESIS = "0" * 64


class ApprovalRow(SQLModel, table=True):
    __tablename__ = "approvals"

    id: str = Field(primary_key=True)
    session_id: str = Field(index=True)
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    risk: str
    role: str | None = None
    agent: str = ""
    summary: str = ""
    created_at: float
    deadline: float | None = None
    status: str = Field(default="pending", index=True)  # pending approved denied edited expired
    decided_at: float | None = None
    decided_by: str | None = None
    reason: str = ""
    edited_arguments: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))

    def request(self) -> ApprovalRequest:
        return ApprovalRequest(
            session_id=self.session_id,
            tool=self.tool,
            arguments=self.arguments,
            risk=self.risk,  # type: ignore[arg-type]
            role=self.role,
            agent=self.agent,
            summary=self.summary,
            id=self.id,
            created_at=self.created_at,
            deadline=self.deadline,
        )

    def decision(self) -> Decision | None:
        if self.status == "pending":
            return None
        action = {"approved": "approve", "edited": "edit"}.get(self.status, "deny")
        return Decision(action, self.decided_by or "", self.reason, self.edited_arguments)  # type: ignore[arg-type]


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit"

    seq: int = Field(primary_key=True)
    at: float
    event: str
    approval_id: str = Field(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    prev_hash: str
    hash: str


STATUS = {"approve": "approved", "deny": "denied", "edit": "edited"}


def _digest(
    seq: int, at: float, event: str, approval_id: str, payload: dict[str, Any], prev: str
) -> str:
    body = json.dumps([seq, round(at, 6), event, approval_id, payload, prev], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


class ApprovalStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(
            SQLModel.metadata,
            engine,
            [ApprovalRow.__table__, AuditRow.__table__],  # type: ignore[attr-defined]
        )

    # ---- writing ----------------------------------------------------------------------

    def submit(self, request: ApprovalRequest) -> None:
        with Session(self.engine) as db:
            db.add(
                ApprovalRow(
                    id=request.id,
                    session_id=request.session_id,
                    tool=request.tool,
                    arguments=request.arguments,
                    risk=request.risk,
                    role=request.role,
                    agent=request.agent,
                    summary=request.summary,
                    created_at=request.created_at,
                    deadline=request.deadline,
                )
            )
            self._audit(db, "requested", request.id, asdict(request))
            db.commit()

    def resolve(self, ref: str) -> str:
        """The approval id ``ref`` names: the id itself or a unique prefix (core/ids.py)."""
        with Session(self.engine) as db:
            if db.get(ApprovalRow, ref) is not None:
                return ref

            def starting_with(prefix: str) -> Sequence[str]:
                match = col(ApprovalRow.id).startswith(prefix, autoescape=True)
                return db.exec(select(ApprovalRow.id).where(match).limit(6)).all()

            def missing(r: str) -> Exception:
                return NotPending(f"no approval request {r!r}")

            return ids.resolve(ref, "apr", starting_with, missing, "approval")

    def decide(self, approval_id: str, decision: Decision) -> ApprovalRow:
        """Record a decision on a pending request (by its id or a unique prefix); raise
        ``NotPending`` otherwise."""
        approval_id = self.resolve(approval_id)
        with Session(self.engine) as db:
            row = db.get(ApprovalRow, approval_id, with_for_update=True)
            if row is None:
                raise NotPending(f"no approval request {approval_id!r}")
            if row.status != "pending":
                raise NotPending(f"approval {approval_id} is already {row.status}")
            self._apply(db, row, STATUS[decision.action], decision)
            db.commit()
            db.refresh(row)
            return row

    def record(self, request: ApprovalRequest, decision: Decision) -> None:
        """A request decided at once (by policy): stored and audited in one go."""
        self.submit(request)
        self.decide(request.id, decision)

    def expire(self, approval_id: str) -> bool:
        with Session(self.engine) as db:
            row = db.get(ApprovalRow, approval_id, with_for_update=True)
            if row is None or row.status != "pending":
                return False
            self._apply(db, row, "expired", Decision("deny", "timeout", "no decision in time"))
            db.commit()
            return True

    def _apply(self, db: Session, row: ApprovalRow, status: str, decision: Decision) -> None:
        row.status = status
        row.decided_at = time.time()
        row.decided_by = decision.by
        row.reason = decision.reason
        row.edited_arguments = decision.arguments
        db.add(row)
        self._audit(db, status, row.id, asdict(decision))

    def _audit(self, db: Session, event: str, approval_id: str, payload: dict[str, Any]) -> None:
        last = db.exec(select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)).first()
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        at = time.time()
        clean = json.loads(json.dumps(payload, default=str))
        db.add(
            AuditRow(
                seq=seq,
                at=at,
                event=event,
                approval_id=approval_id,
                payload=clean,
                prev_hash=prev,
                hash=_digest(seq, at, event, approval_id, clean, prev),
            )
        )

    # ---- reading ----------------------------------------------------------------------

    def get(self, approval_id: str) -> ApprovalRow | None:
        """By its id or a unique prefix; None when there is none."""
        try:
            approval_id = self.resolve(approval_id)
        except NotPending:
            return None
        with Session(self.engine) as db:
            return db.get(ApprovalRow, approval_id)

    def pending(self) -> Sequence[ApprovalRow]:
        with Session(self.engine) as db:
            query = select(ApprovalRow).where(ApprovalRow.status == "pending")
            return db.exec(query.order_by(col(ApprovalRow.created_at))).all()

    def recent(self, limit: int = 50) -> Sequence[ApprovalRow]:
        with Session(self.engine) as db:
            query = select(ApprovalRow).order_by(col(ApprovalRow.created_at).desc())
            return db.exec(query.limit(limit)).all()

    def audit(self) -> Sequence[AuditRow]:
        with Session(self.engine) as db:
            return db.exec(select(AuditRow).order_by(col(AuditRow.seq))).all()

    def verify(self) -> tuple[bool, str]:
        """Check the audit chain end to end: (ok, what is wrong where)."""
        prev = GENESIS
        expected_seq = 1
        for row in self.audit():
            if row.seq != expected_seq:
                return False, f"entry {expected_seq} is missing (next is {row.seq})"
            if row.prev_hash != prev:
                return False, f"entry {row.seq} does not follow entry {row.seq - 1}"
            digest = _digest(
                row.seq, row.at, row.event, row.approval_id, row.payload, row.prev_hash
            )
            if digest != row.hash:
                return False, f"entry {row.seq} was altered"
            prev = row.hash
            expected_seq += 1
        return True, f"{expected_seq - 1} entries, chain intact"

    async def wait(self, approval_id: str, *, poll_s: float = 0.2) -> Decision | None:
        """Wait until someone (another process, too) decides; None if the row vanished."""
        while True:
            row = self.get(approval_id)
            if row is None:
                return None
            decision = row.decision()
            if decision is not None:
                return decision
            await anyio.sleep(poll_s)
