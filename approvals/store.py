"""Approval requests and decisions, persisted; and the append-only, hash-chained audit log.

A request is ``pending`` until decided (``approved``, ``denied``, ``edited``) or until its
deadline passes (``expired``, which denies). Every event (requested, decided, expired) is
appended to ``audit``: each entry carries the SHA-256 of the previous one, so editing or
deleting any entry breaks the chain, and ``verify`` says where.

With an ``AuditAnchor`` (the host, the CLI and the approvals server always pass one) the
chain's ends are signed outside it too (``approvals.anchor``): each append signs the new last
entry into the ``audit_heads`` table, in the same transaction, and into the head file after
it, so ``verify`` also finds a cut-off tail, a forged head and an approval row edited in place
(``approvals.verify``); ``purge`` deletes old entries and signs where the chain now starts.
An append signs only a chain that ends at its signed head: after tampering the head stays
where it was, and so does the evidence. Without an anchor, as before: the chain alone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import anyio
from sqlalchemy import JSON, Column, ColumnElement, and_, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from approvals.anchor import HEAD_FILE, AuditAnchor, Signed
from approvals.types import ApprovalRequest, AuditTampered, Decision, NotPending
from approvals.verify import GENESIS, HEADS_TABLE, check, digest, plain
from core import ids
from core.db import create_tables
from core.errors import InvalidRequest

log = logging.getLogger("agenthost.approvals")


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


class AuditHeadRow(SQLModel, table=True):
    """The chain's signed ends kept in the store (``approvals.anchor``): ``head``, and after a
    purge ``start``. A replica without the head file checks against these."""

    __tablename__ = HEADS_TABLE

    kind: str = Field(primary_key=True)  # head | start
    seq: int
    hash: str
    mac: str


APPROVALS = ApprovalRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditRow.__table__  # type: ignore[attr-defined]
HEADS = AuditHeadRow.__table__  # type: ignore[attr-defined]
STATUS = {"approve": "approved", "deny": "denied", "edit": "edited"}


@dataclass(frozen=True)
class Purged:
    """What ``ApprovalStore.purge`` removed (or, in a dry run, would remove)."""

    approvals: int
    entries: int


def chain_name(engine: Engine) -> str:
    """The database, as the head file names the chain it holds (no password; a SQLite path
    made absolute, so every process in any directory names it alike)."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    if url.drivername == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=os.path.abspath(url.database))
    return url.render_as_string(hide_password=True)


def _doomed(before: float) -> ColumnElement[bool]:
    """Approvals a purge removes: decided before ``before``."""
    return and_(col(ApprovalRow.status) != "pending", col(ApprovalRow.decided_at) < before)


def _kept(before: float) -> ColumnElement[bool]:
    """The rest (NULL-safe: a row without decided_at is kept)."""
    return or_(
        col(ApprovalRow.status) == "pending",
        col(ApprovalRow.decided_at).is_(None),
        col(ApprovalRow.decided_at) >= before,
    )


class ApprovalStore:
    def __init__(self, engine: Engine, anchor: AuditAnchor | None = None) -> None:
        self.engine = engine
        self.anchor = anchor
        self.chain = chain_name(engine)
        tables = [APPROVALS, AUDIT] + ([HEADS] if anchor is not None else [])
        create_tables(SQLModel.metadata, engine, tables)
        if anchor is not None:
            self._adopt(anchor)

    def _adopt(self, anchor: AuditAnchor) -> None:
        """Sign the chain as it is found when nothing has signed it yet: a new database, or
        one a version without anchors wrote. Once either place holds a head, a missing one
        is a finding for ``verify``, never adopted again."""
        with Session(self.engine) as db:
            if db.get(AuditHeadRow, "head") is not None:
                return
        try:
            if anchor.read(self.chain):
                return  # the table lost its head; the file remembers: verify must tell
        except (OSError, ValueError):
            return  # verify says what is wrong with the file
        with Session(self.engine) as db:
            last = self._last(db)
            seq, end = (last.seq, last.hash) if last else (0, GENESIS)
            head = anchor.sign("head", seq, end)
            insert = sqlite_insert if self.engine.dialect.name == "sqlite" else pg_insert
            values = {"kind": "head", "seq": head.seq, "hash": head.hash, "mac": head.mac}
            added = db.exec(insert(HEADS).values(**values).on_conflict_do_nothing())
            db.commit()
        if added.rowcount:  # else another process adopted it, and keeps its file itself
            self._advance(head)

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
            head = self._audit(db, "requested", request.id, asdict(request))
            db.commit()
        self._advance(head)

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
            head = self._apply(db, row, STATUS[decision.action], decision)
            db.commit()
            db.refresh(row)
        self._advance(head)
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
            head = self._apply(
                db, row, "expired", Decision("deny", "timeout", "no decision in time")
            )
            db.commit()
        self._advance(head)
        return True

    def _apply(
        self, db: Session, row: ApprovalRow, status: str, decision: Decision
    ) -> Signed | None:
        now = time.time()  # the row's decided_at is its entry's time: verify compares them
        row.status = status
        row.decided_at = now
        row.decided_by = decision.by
        row.reason = decision.reason
        row.edited_arguments = decision.arguments
        db.add(row)
        return self._audit(db, status, row.id, asdict(decision), at=now)

    def _audit(
        self,
        db: Session,
        event: str,
        approval_id: str,
        payload: dict[str, Any],
        *,
        at: float | None = None,
    ) -> Signed | None:
        """Append an entry in ``db``'s transaction; with an anchor, sign it as the new head
        when the chain ended at the signed one. The head to write to the file once the
        transaction commits (``_advance``), if any."""
        head = self._lock(db)
        last = self._last(db)
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        at = time.time() if at is None else at
        clean = plain(payload)
        entry = digest(seq, at, event, approval_id, clean, prev)
        db.add(
            AuditRow(
                seq=seq,
                at=at,
                event=event,
                approval_id=approval_id,
                payload=clean,
                prev_hash=prev,
                hash=entry,
            )
        )
        if self.anchor is None:
            return None
        if head is None or not self.anchor.valid(head) or (head.seq, head.hash) != (seq - 1, prev):
            # moving the head on now would sign over what verify must still find
            log.warning(
                "audit entry %d left unsigned: the chain does not end at its signed head "
                "(`agenthost approvals audit` says why)",
                seq,
            )
            return None
        signed = self.anchor.sign("head", seq, entry)
        db.exec(
            update(HEADS)
            .where(HEADS.c.kind == "head")
            .values(seq=signed.seq, hash=signed.hash, mac=signed.mac)
        )
        return signed

    def _lock(self, db: Session) -> Signed | None:
        """Anchored: take the head row's lock (SQLite: the database's write lock), so
        appends, purges and verifies of every process take turns; and return the head."""
        if self.anchor is None:
            return None
        db.exec(update(HEADS).where(HEADS.c.kind == "head").values(seq=HEADS.c.seq))
        row = db.get(AuditHeadRow, "head")
        return Signed("head", row.seq, row.hash, row.mac) if row is not None else None

    @staticmethod
    def _last(db: Session) -> AuditRow | None:
        return db.exec(select(AuditRow).order_by(col(AuditRow.seq).desc()).limit(1)).first()

    def _advance(self, *records: Signed | None) -> None:
        """Copy committed signed records into the head file. A failure here loses no
        evidence (the table has them), so it is logged, not raised after the commit."""
        signed = [r for r in records if r is not None]
        if self.anchor is None or not signed:
            return
        try:
            self.anchor.advance(self.chain, *signed)
        except OSError as exc:
            log.warning("could not update %s: %s", self.anchor.head_file, exc)

    def _anchored(self) -> AuditAnchor:
        if self.anchor is None:
            raise InvalidRequest(
                "the audit log's key is needed for this: open the store with an AuditAnchor"
            )
        return self.anchor

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
        """Check the audit log end to end (``approvals.verify``): (ok, what is wrong where).
        Anchored: its signed ends and the approvals rows too."""
        signed: list[tuple[str, Signed]] = []
        if self.anchor is not None:
            # the file first: it is written after each commit, so it can only lag behind
            # what the database shows next, never lead it
            try:
                signed += [(HEAD_FILE, r) for r in self.anchor.read(self.chain).values()]
            except (OSError, ValueError) as exc:
                return False, f"{self.anchor.head_file} is unreadable: {exc}"
        with Session(self.engine) as db:
            # holding the head's lock while reading: no append lands between the heads, the
            # chain and the rows. Only reads; closing the session rolls the no-op back
            self._lock(db)
            if self.anchor is not None:
                heads = db.exec(select(AuditHeadRow)).all()
                signed += [(HEADS_TABLE, Signed(h.kind, h.seq, h.hash, h.mac)) for h in heads]  # type: ignore[arg-type]
            entries = db.exec(select(AuditRow).order_by(col(AuditRow.seq))).all()
            rows = db.exec(select(ApprovalRow)).all() if self.anchor is not None else []
        return check(entries, rows, signed, self.anchor)

    # ---- retention --------------------------------------------------------------------

    def purge(self, before: float, *, dry_run: bool = False) -> Purged:
        """Delete approvals decided before ``before`` (epoch seconds), and the audit entries
        older than that, keeping the chain verifiable: the first kept entry becomes the
        signed ``start`` that ``verify`` begins at, and a ``purged`` entry records what went
        (an approval row missing without one is a finding). Entries of an approval still
        kept (a pending one, a recent decision) are kept, and all entries after them: the
        chain is only ever cut at its old end. Refuses a log that fails ``verify``: purging
        must not erase the evidence of tampering."""
        anchor = self._anchored()
        ok, detail = self.verify()
        if not ok:
            raise AuditTampered(f"the audit log fails verification ({detail}): not purging it")
        with Session(self.engine) as db:
            self._lock(db)
            doomed = sorted(db.exec(select(ApprovalRow.id).where(_doomed(before))).all())
            last = self._last(db)
            next_seq = last.seq + 1 if last else 1
            recent = db.exec(select(func.min(AuditRow.seq)).where(AuditRow.at >= before)).one()
            kept_ids = select(ApprovalRow.id).where(_kept(before))
            held = db.exec(
                select(func.min(AuditRow.seq)).where(col(AuditRow.approval_id).in_(kept_ids))
            ).one()
            cut = min(s for s in (recent, held, next_seq) if s is not None)
            entries = db.exec(select(func.count()).where(AuditRow.seq < cut)).one()
            if dry_run or not (doomed or entries):
                return Purged(len(doomed), entries)
            payload = {"before": before, "approvals": doomed, "entries_before": cut}
            head = self._audit(db, "purged", "", payload)
            db.exec(delete(APPROVALS).where(_doomed(before)))
            start: Signed | None = None
            if entries:
                first = db.exec(select(AuditRow.prev_hash).where(AuditRow.seq == cut)).one()
                db.exec(delete(AUDIT).where(AUDIT.c.seq < cut))
                start = anchor.sign("start", cut, first)
                kept = db.get(AuditHeadRow, "start")
                if kept is None:
                    db.add(AuditHeadRow(kind="start", seq=cut, hash=first, mac=start.mac))
                else:
                    kept.seq, kept.hash, kept.mac = cut, first, start.mac
                    db.add(kept)
            db.commit()
        self._advance(head, start)
        return Purged(len(doomed), entries)

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
