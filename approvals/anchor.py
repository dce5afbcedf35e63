"""The audit chain's anchor: an HMAC key and the signed ends of the chain, kept outside the
table they protect.

A hash chain alone shows an edited or deleted *middle* entry, but not a cut-off tail: the
entries left still chain. So every append signs the new last entry, its ``head`` (seq and
hash, HMAC'd with the audit key), and a purge signs the first entry it keeps, the ``start``
(seq and prev_hash). ``ApprovalStore.verify`` then knows where the chain must begin and end.

The key is 32 random bytes, written as 64 hex digits to ``$AGENTHOST_HOME/audit.key`` (mode
0600) on first use, or given as ``AGENTHOST_AUDIT_KEY`` (the same form: copy the file) so
hosts sharing one PostgreSQL sign alike. Signed records go to ``$AGENTHOST_HOME/audit.head``
here and to the ``audit_heads`` table in the store (so a replica without the file checks
too). The file holds one entry per database, replaced atomically under an ``flock`` and only
ever moved forward, so two processes appending at once never move it back.

This module is plain files and ``hmac``: the settings and the MCP servers import it at start.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from core.errors import ConfigError

log = logging.getLogger("agenthost.approvals")

KEY_FILE = "audit.key"
HEAD_FILE = "audit.head"
KEY_BYTES = 32

Kind = Literal["head", "start"]


class AuditKeyError(ConfigError):
    """The audit key (``audit.key`` or ``AGENTHOST_AUDIT_KEY``) cannot be used."""


@dataclass(frozen=True)
class Signed:
    """One signed end of the chain: ``head`` (the last entry's seq and hash) or ``start``
    (the first kept entry's seq and prev_hash)."""

    kind: Kind
    seq: int
    hash: str
    mac: str


def parse_key(text: str, source: str) -> bytes:
    """The key written as hex digits (at least 32 bytes' worth)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise AuditKeyError(
            f"{source} must be at least {2 * KEY_BYTES} hex digits ({KEY_BYTES} random bytes, "
            "e.g. `openssl rand -hex 32`, or a copy of $AGENTHOST_HOME/audit.key)"
        )
    return key


class AuditAnchor:
    """Signs and checks chain ends with the audit key; keeps them in ``home``'s head file."""

    def __init__(self, home: Path, key: bytes | None = None) -> None:
        self.home = home
        self.key_file = home / KEY_FILE
        self.head_file = home / HEAD_FILE
        self._key = key  # given (AGENTHOST_AUDIT_KEY), else read or made on first use

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self._load_or_create_key()
        return self._key

    def _load_or_create_key(self) -> bytes:
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.key_file.exists():
            # written to a private temporary name, then linked into place: link() fails when
            # another process won the race, and nobody ever reads a half-written key
            tmp = self.home / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(KEY_BYTES) + "\n")
                    out.flush()
                    os.fsync(out.fileno())
                with suppress(FileExistsError):  # another process made it first: theirs
                    os.link(tmp, self.key_file)
            finally:
                tmp.unlink(missing_ok=True)
        return parse_key(self.key_file.read_text(), str(self.key_file))

    def sign(self, kind: Kind, seq: int, digest: str) -> Signed:
        return Signed(kind, seq, digest, self._mac(kind, seq, digest))

    def valid(self, record: Signed) -> bool:
        return hmac.compare_digest(record.mac, self._mac(record.kind, record.seq, record.hash))

    def _mac(self, kind: Kind, seq: int, digest: str) -> str:
        # the kind is signed too: a head's MAC must never pass for a start's
        message = f"{kind}|{seq}|{digest}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    # ---- the head file ----------------------------------------------------------------

    def read(self, chain: str) -> dict[str, Signed]:
        """The records kept here for ``chain`` (a database), by kind; raise ``ValueError``
        when the file is not what this module writes."""
        return _records(self._load().get(chain, {}))

    def advance(self, chain: str, *records: Signed) -> None:
        """Keep ``records`` for ``chain``, each only where it is ahead of the kept one."""
        if not records:
            return
        with self._locked():
            try:
                data = self._load()
            except ValueError as exc:  # overwritten: the table still holds the signed ends
                log.warning("replacing unreadable %s: %s", self.head_file, exc)
                data = {}
            kept = _records(data.get(chain, {}))
            for record in records:
                old = kept.get(record.kind)
                if old is None or record.seq > old.seq:
                    kept[record.kind] = record
            data[chain] = {kind: asdict(r) for kind, r in kept.items()}
            tmp = self.head_file.with_name(f".{HEAD_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(data, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.head_file)

    def _load(self) -> dict[str, dict[str, dict[str, object]]]:
        try:
            text = self.head_file.read_text()
        except FileNotFoundError:
            return {}
        data = json.loads(text)  # JSONDecodeError is a ValueError
        if not isinstance(data, dict):
            raise ValueError(f"{self.head_file} does not hold a JSON object")
        return data

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # a lock file beside the head file: os.replace gives the head file a new inode, so a
        # lock on the head file itself would not exclude a writer that opened it later.
        # flock (not lockf): it excludes other open descriptions in this process, too
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.home / f"{HEAD_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _records(raw: object) -> dict[str, Signed]:
    if not isinstance(raw, dict):
        raise ValueError("a chain's entry is not a JSON object")
    records: dict[str, Signed] = {}
    for kind, value in raw.items():
        if kind not in ("head", "start") or not isinstance(value, dict):
            raise ValueError(f"unexpected record {kind!r}")
        seq, digest, mac = value.get("seq"), value.get("hash"), value.get("mac")
        if not (isinstance(seq, int) and isinstance(digest, str) and isinstance(mac, str)):
            raise ValueError(f"malformed {kind} record")
        records[kind] = Signed(kind, seq, digest, mac)
    return records
