"""The anchored audit log: a signed head outside the chain finds what the chain alone cannot
(a cut-off tail, the whole log gone, a forged head, an approval row edited in place), and a
purge keeps the log verifiable from a signed start. Every "tampering" here is a direct SQL
edit or file write, as someone with access to the database or the home would make it."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from approvals import (
    ApprovalRequest,
    ApprovalStore,
    AuditAnchor,
    AuditKeyError,
    AuditTampered,
    Decision,
)
from memory.sessions import make_engine
from settings import AUDIT_KEY_ENV, Settings, audit_anchor


def request(n: int = 0) -> ApprovalRequest:
    return ApprovalRequest("ses_1", "files__delete", {"path": f"/tmp/{n}"}, "high", role="ops")


def open_store(tmp_path: Path, home: str = "home", key: bytes | None = None) -> ApprovalStore:
    """A store on ``tmp_path``'s database, anchored in ``home`` (one per host)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    return ApprovalStore(engine, AuditAnchor(tmp_path / home, key))


@pytest.fixture
def store(tmp_path: Path) -> ApprovalStore:
    return open_store(tmp_path)


def three_decided(store: ApprovalStore) -> list[ApprovalRequest]:
    """Three requests and their decisions: six entries."""
    asked = [request(n) for n in range(3)]
    for r, action in zip(asked, ("approve", "deny", "edit"), strict=True):
        store.submit(r)
        edited = {"path": "/tmp/safe"} if action == "edit" else None
        store.decide(r.id, Decision(action, "alice", "because", edited))  # type: ignore[arg-type]
    return asked


def sql(store: ApprovalStore, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


@pytest.mark.parametrize(
    ("cut", "finding"),
    [
        (1, "1 entry missing after seq 5 (the signed head is seq 6)"),
        (3, "3 entries missing after seq 3 (the signed head is seq 6)"),
        (6, "all 6 entries are missing (the signed head is seq 6)"),
    ],
)
def test_a_cut_off_tail_is_found(store: ApprovalStore, cut: int, finding: str) -> None:
    three_decided(store)
    assert store.verify() == (True, "6 entries, chain intact")
    sql(store, "DELETE FROM audit WHERE seq > :keep", keep=6 - cut)
    assert store.verify() == (False, finding)


def test_a_replica_without_the_head_file_finds_it_from_the_table(
    tmp_path: Path, store: ApprovalStore
) -> None:
    three_decided(store)
    replica = open_store(tmp_path, "replica-home", key=store.anchor.key)  # type: ignore[union-attr]
    assert replica.verify() == (True, "6 entries, chain intact")
    sql(store, "DELETE FROM audit WHERE seq > 4")
    assert replica.verify() == (False, "2 entries missing after seq 4 (the signed head is seq 6)")


def test_rewinding_the_table_head_is_caught_by_the_file(store: ApprovalStore) -> None:
    store.submit(request(1))
    with store.engine.connect() as conn:  # an attacker keeps an old, validly signed head ...
        old = conn.execute(text("SELECT seq, hash, mac FROM audit_heads")).one()
    three_decided(store)
    sql(store, "DELETE FROM audit WHERE seq > 1")  # ... cuts the log back to it ...
    sql(store, "DELETE FROM approvals WHERE id != (SELECT approval_id FROM audit)")
    sql(
        store,
        "UPDATE audit_heads SET seq = :s, hash = :h, mac = :m",
        s=old.seq,
        h=old.hash,
        m=old.mac,
    )
    # ... and the table agrees; the head file does not
    assert store.verify() == (False, "6 entries missing after seq 1 (the signed head is seq 7)")


def test_a_forged_head_is_found(tmp_path: Path, store: ApprovalStore) -> None:
    three_decided(store)
    sql(store, "DELETE FROM audit WHERE seq > 4")
    with store.engine.connect() as conn:
        seq, digest = conn.execute(text("SELECT seq, hash FROM audit WHERE seq = 4")).one()
    sql(store, "UPDATE audit_heads SET seq = :s, hash = :h, mac = :m", s=seq, h=digest, m="0" * 64)
    ok, finding = store.verify()
    assert not ok
    assert finding.startswith("the signed head in audit_heads is forged")

    head_file = tmp_path / "home" / "audit.head"  # the same on the file's side
    kept = json.loads(head_file.read_text())
    (chain,) = kept
    kept[chain]["head"] |= {"seq": 4, "hash": digest, "mac": "f" * 64}
    head_file.write_text(json.dumps(kept))
    ok, finding = store.verify()
    assert not ok
    assert finding.startswith("the signed head in audit.head is forged")


def test_a_deleted_table_head_is_found(store: ApprovalStore) -> None:
    three_decided(store)
    sql(store, "DELETE FROM audit_heads")
    ok, finding = store.verify()
    assert (ok, finding) == (
        False,
        "audit_heads holds no signed head (audit.head does): it was deleted",
    )


def test_an_approval_row_edited_in_place_is_found(store: ApprovalStore) -> None:
    approved, denied, edited = three_decided(store)
    pending = request(9)
    store.submit(pending)
    assert store.verify() == (True, "7 entries, chain intact")
    cases = [
        ("UPDATE approvals SET status = 'approved' WHERE id = :id", denied.id,
         f"approval {denied.id} says approved, the audit log says denied"),
        ("UPDATE approvals SET decided_by = 'mallory' WHERE id = :id", approved.id,
         f"approval {approved.id}: its decided_by differs from the audit log"),
        ("UPDATE approvals SET edited_arguments = '{\"path\": \"/\"}' WHERE id = :id", edited.id,
         f"approval {edited.id}: its edited_arguments differs from the audit log"),
        ("UPDATE approvals SET arguments = '{\"path\": \"/etc\"}' WHERE id = :id", pending.id,
         f"approval {pending.id}: its arguments differs from the audit log"),
        ("UPDATE approvals SET decided_at = decided_at - 86400 * 90 WHERE id = :id", denied.id,
         f"approval {denied.id}: its decided_at differs from the audit log"),
        ("DELETE FROM approvals WHERE id = :id", pending.id,
         f"approval {pending.id} is in the audit log but its row was deleted"),
    ]  # fmt: skip
    for statement, approval_id, finding in cases:
        with store.engine.connect() as conn:
            before = dict(
                conn.execute(text("SELECT * FROM approvals WHERE id = :id"), {"id": approval_id})
                .one()
                ._mapping
            )
        sql(store, statement, id=approval_id)
        assert store.verify() == (False, finding), statement
        sql(store, "DELETE FROM approvals WHERE id = :id", id=approval_id)  # put it back
        columns = ", ".join(before)
        values = ", ".join(f":{c}" for c in before)
        sql(store, f"INSERT INTO approvals ({columns}) VALUES ({values})", **before)
        assert store.verify()[0], statement
    sql(store, "INSERT INTO approvals (id, session_id, tool, arguments, risk, agent, summary, "
        "created_at, status, reason) VALUES ('apr_fake', 's', 't', '{}', 'low', '', '', 0, "
        "'approved', '')")  # fmt: skip
    assert store.verify() == (False, "approval apr_fake has no audit entry")


def test_appending_after_tampering_keeps_the_evidence(store: ApprovalStore) -> None:
    three_decided(store)
    sql(store, "DELETE FROM audit WHERE seq > 3")
    sql(store, "DELETE FROM approvals")
    for n in range(5):  # the chain grows past the old head; the head stays where it was
        store.submit(request(10 + n))
    ok, finding = store.verify()
    assert not ok
    assert finding == "entry 6 does not match the signed head in audit.head"


def test_entries_appended_without_the_key_are_found(tmp_path: Path, store: ApprovalStore) -> None:
    store.submit(request(1))
    unanchored = ApprovalStore(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    unanchored.submit(request(2))
    unanchored.submit(request(3))
    assert unanchored.verify() == (True, "3 entries, chain intact")  # the chain alone holds
    assert store.verify() == (
        False,
        "entries 2..3 are past the signed head (seq 1): appended without the audit key",
    )


def test_a_chain_from_before_anchors_is_adopted_once(tmp_path: Path) -> None:
    old = ApprovalStore(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    old.submit(request(1))
    old.decide(old.pending()[0].id, Decision("approve", "bob"))
    store = open_store(tmp_path)
    assert store.verify() == (True, "2 entries, chain intact")
    store.submit(request(2))
    assert store.verify() == (True, "3 entries, chain intact")
    sql(store, "DELETE FROM audit WHERE seq = 3")
    sql(store, "DELETE FROM approvals WHERE status = 'pending'")
    assert not open_store(tmp_path).verify()[0]  # reopening adopts nothing now


def test_concurrent_appends_from_two_stores_verify(tmp_path: Path) -> None:
    """Two processes' stores (own engines, one database and home) appending at once: each
    append signs the head in its transaction, the file only ever moves forward."""
    stores = [open_store(tmp_path), open_store(tmp_path)]
    errors: list[BaseException] = []

    def append(store: ApprovalStore, base: int) -> None:
        try:
            for n in range(6):
                asked = request(base + n)
                store.submit(asked)
                store.decide(asked.id, Decision("approve", f"p{base}"))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(s, 100 * i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for store in stores:
        assert store.verify() == (True, "24 entries, chain intact")
    kept = json.loads((tmp_path / "home" / "audit.head").read_text())
    assert [chain["head"]["seq"] for chain in kept.values()] == [24]


def test_the_key_is_made_once_private_and_an_env_key_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    anchor = AuditAnchor(home)
    key = anchor.key
    assert len(key) == 32
    assert stat.S_IMODE(os.stat(home / "audit.key").st_mode) == 0o600
    assert AuditAnchor(home).key == key  # read back, not made again
    settings = Settings(home=home)
    monkeypatch.delenv(AUDIT_KEY_ENV, raising=False)
    assert audit_anchor(settings).key == key
    shared = "ab" * 32
    monkeypatch.setenv(AUDIT_KEY_ENV, shared)
    assert audit_anchor(settings).key == bytes.fromhex(shared)
    monkeypatch.setenv(AUDIT_KEY_ENV, "too-short")
    with pytest.raises(AuditKeyError, match="at least 64 hex digits"):
        audit_anchor(settings)


def test_a_head_signature_does_not_pass_for_a_start(tmp_path: Path) -> None:
    anchor = AuditAnchor(tmp_path / "home")
    head = anchor.sign("head", 4, "ab" * 32)
    assert anchor.valid(head)
    assert not anchor.valid(type(head)("start", head.seq, head.hash, head.mac))


# ---- purge ---------------------------------------------------------------------------


def test_a_purge_keeps_the_chain_verifiable_and_tampering_still_shows(
    store: ApprovalStore,
) -> None:
    old = three_decided(store)  # entries 1..6
    cutoff = time.time()
    recent = request(7)
    store.submit(recent)  # entry 7
    store.decide(recent.id, Decision("deny", "bob"))  # entry 8
    assert store.purge(cutoff, dry_run=True).__dict__ == {"approvals": 3, "entries": 6}
    assert len(store.audit()) == 8  # a dry run removes nothing
    purged = store.purge(cutoff)
    assert (purged.approvals, purged.entries) == (3, 6)
    assert [r.id for r in store.recent()] == [recent.id]
    assert [a.event for a in store.audit()] == ["requested", "denied", "purged"]
    assert store.audit()[-1].payload["approvals"] == sorted(r.id for r in old)
    assert store.verify() == (True, "3 entries from seq 7 (older ones purged), chain intact")
    assert store.purge(cutoff).__dict__ == {"approvals": 0, "entries": 0}  # nothing more

    sql(store, "DELETE FROM audit WHERE seq = 7")  # the first kept entry
    assert store.verify() == (False, "entry 7 is missing (next is 8)")


def test_after_a_purge_a_moved_start_or_a_deleted_row_is_found(store: ApprovalStore) -> None:
    three_decided(store)
    cutoff = time.time()
    kept = request(7)
    store.submit(kept)
    store.purge(cutoff)
    assert store.verify()[0]
    sql(store, "UPDATE audit_heads SET seq = 8 WHERE kind = 'start'")  # pretend more went
    ok, finding = store.verify()
    assert not ok
    assert finding.startswith("the signed start in audit_heads is forged")
    sql(store, "UPDATE audit_heads SET seq = 7 WHERE kind = 'start'")
    assert store.verify()[0]
    sql(store, "DELETE FROM approvals WHERE id = :id", id=kept.id)  # not a purge: no record
    assert store.verify() == (
        False,
        f"approval {kept.id} is in the audit log but its row was deleted",
    )


def test_a_pending_request_holds_its_entries_back(store: ApprovalStore) -> None:
    waiting = request(0)
    store.submit(waiting)  # entry 1, still pending
    decided = request(1)
    store.record(decided, Decision("approve", "policy"))  # entries 2, 3
    purged = store.purge(time.time())
    assert (purged.approvals, purged.entries) == (1, 0)  # its row goes, the entries stay
    assert [r.id for r in store.recent()] == [waiting.id]
    assert store.verify() == (True, "4 entries, chain intact")


def test_a_tampered_log_is_not_purged(store: ApprovalStore) -> None:
    three_decided(store)
    sql(store, "DELETE FROM audit WHERE seq = 6")
    with pytest.raises(AuditTampered, match="1 entry missing after seq 5"):
        store.purge(time.time())
    assert len(store.recent()) == 3
