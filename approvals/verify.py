"""Checking the audit log: the hash chain, its signed ends, and the approvals it speaks for.

Three checks, the first problem found is the answer:

1. the chain: from its signed start (seq 1 and the genesis hash when nothing was purged)
   every entry follows the one before and hashes to what it says (an edited or deleted
   entry);
2. its ends (with an anchor): every signed record's MAC holds (a forged head), the newest
   signed head is the last entry (a cut-off tail, or the whole log deleted, or entries
   appended by someone without the key);
3. the approvals (with an anchor): every row says what its entries recorded: the request as
   asked, the decision as made (a row edited in place); an approval in the log without a row
   was purged (a ``purged`` entry names it) or deleted behind the store's back.

Plain functions over rows already read, so the store can read everything in one locked
transaction and check it after letting go.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from approvals.anchor import HEAD_FILE, AuditAnchor, Signed

if TYPE_CHECKING:
    from approvals.store import ApprovalRow, AuditRow

GENESIS = "0" * 64
HEADS_TABLE = "audit_heads"  # where the store keeps its signed records (``AuditHeadRow``)
# the request's fields an approval row keeps, as its ``requested`` entry recorded them
REQUEST_FIELDS = (
    "session_id", "tool", "arguments", "risk", "role", "agent", "summary", "created_at",
    "deadline",
)  # fmt: skip
# a row's decision columns and the ``Decision`` fields its entry recorded them as
DECISION_FIELDS = (("decided_by", "by"), ("reason", "reason"), ("edited_arguments", "arguments"))
# decided_at and its entry's time are one clock reading; rows written before they were
# differ by the microseconds between two readings
DECIDED_AT_SLACK_S = 1.0


def digest(
    seq: int, at: float, event: str, approval_id: str, payload: dict[str, Any], prev: str
) -> str:
    body = json.dumps([seq, round(at, 6), event, approval_id, payload, prev], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def plain(value: Any) -> Any:
    """``value`` as the audit log stores it (JSON, anything else as its ``str``)."""
    return json.loads(json.dumps(value, default=str))


def check(
    entries: Sequence[AuditRow],
    rows: Sequence[ApprovalRow],
    signed: Sequence[tuple[str, Signed]],
    anchor: AuditAnchor | None,
) -> tuple[bool, str]:
    """(ok, what is wrong where). ``signed``: each signed record with where it was kept.
    Without an anchor only the chain is checked, from seq 1."""
    for where, record in signed:
        if anchor is not None and not anchor.valid(record):
            return False, (
                f"the signed {record.kind} in {where} is forged: its MAC does not match the "
                "audit key (or another host wrote it with its own key: share "
                "AGENTHOST_AUDIT_KEY)"
            )
    starts = [r for _, r in signed if r.kind == "start"] if anchor else []
    start = max(starts, key=lambda r: r.seq) if starts else None
    first, prev = (start.seq, start.hash) if start else (1, GENESIS)
    problem = _chain(entries, first, prev)
    if problem is None and anchor is not None:
        heads = [(where, r) for where, r in signed if r.kind == "head"]
        problem = _ends(entries, heads, first, prev) or _approvals(entries, rows)
    if problem is not None:
        return False, problem
    count = "1 entry" if len(entries) == 1 else f"{len(entries)} entries"
    since = "" if first == 1 else f" from seq {first} (older ones purged)"
    return True, f"{count}{since}, chain intact"


def _chain(entries: Sequence[AuditRow], first: int, prev: str) -> str | None:
    expected = first
    for row in entries:
        if row.seq < first:
            return f"entry {row.seq} precedes the signed start of the chain (seq {first})"
        if row.seq != expected:
            return f"entry {expected} is missing (next is {row.seq})"
        if row.prev_hash != prev:
            return f"entry {row.seq} does not follow entry {row.seq - 1}"
        if digest(row.seq, row.at, row.event, row.approval_id, row.payload, prev) != row.hash:
            return f"entry {row.seq} was altered"
        prev = row.hash
        expected += 1
    return None


def _ends(
    entries: Sequence[AuditRow], heads: Sequence[tuple[str, Signed]], first: int, prev: str
) -> str | None:
    if not heads:
        if entries:
            held = "1 entry" if len(entries) == 1 else f"{len(entries)} entries"
            return f"{held} but no signed head (neither audit_heads nor audit.head holds one)"
        return None
    kept_in = {where for where, _ in heads}
    if HEAD_FILE in kept_in and HEADS_TABLE not in kept_in:
        return f"{HEADS_TABLE} holds no signed head ({HEAD_FILE} does): it was deleted"
    hashes = {first - 1: prev} | {e.seq: e.hash for e in entries}
    last = entries[-1].seq if entries else first - 1
    newest = max((r for _, r in heads), key=lambda r: r.seq)
    if newest.seq > last:
        if not entries:
            gone = newest.seq - first + 1
            which = "the one entry is" if gone == 1 else f"all {gone} entries are"
            return f"{which} missing (the signed head is seq {newest.seq})"
        gone = newest.seq - last
        entries_ = "entry" if gone == 1 else "entries"
        return f"{gone} {entries_} missing after seq {last} (the signed head is seq {newest.seq})"
    for where, head in heads:
        # a head behind the chain (another host's file, on a shared database) must still
        # name an entry as it is; one behind a purge has nothing left to compare
        if head.seq in hashes and hashes[head.seq] != head.hash:
            return f"entry {head.seq} does not match the signed head in {where}"
    if newest.seq < last:
        after = newest.seq + 1
        which = f"entry {after} is" if after == last else f"entries {after}..{last} are"
        return f"{which} past the signed head (seq {newest.seq}): appended without the audit key"
    return None


def _approvals(entries: Sequence[AuditRow], rows: Sequence[ApprovalRow]) -> str | None:
    requested: dict[str, AuditRow] = {}
    decided: dict[str, AuditRow] = {}
    purged: set[str] = set()
    for entry in entries:
        if entry.event == "requested":
            requested[entry.approval_id] = entry
        elif entry.event == "purged":
            purged.update(entry.payload.get("approvals", ()))
        else:
            decided[entry.approval_id] = entry
    for row in rows:
        asked = requested.get(row.id)
        if asked is None:
            return f"approval {row.id} has no audit entry"
        for name in REQUEST_FIELDS:
            if plain(getattr(row, name)) != asked.payload.get(name):
                return f"approval {row.id}: its {name} differs from the audit log"
        decision = decided.get(row.id)
        expected = decision.event if decision is not None else "pending"
        if row.status != expected:
            return f"approval {row.id} says {row.status}, the audit log says {expected}"
        if decision is None:
            continue
        for column, name in DECISION_FIELDS:
            if plain(getattr(row, column)) != decision.payload.get(name):
                return f"approval {row.id}: its {column} differs from the audit log"
        if row.decided_at is None or abs(row.decided_at - decision.at) > DECIDED_AT_SLACK_S:
            return f"approval {row.id}: its decided_at differs from the audit log"
    present = {row.id for row in rows}
    for approval_id in requested:
        if approval_id not in present and approval_id not in purged:
            return f"approval {approval_id} is in the audit log but its row was deleted"
    return None
