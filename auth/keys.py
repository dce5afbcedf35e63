"""API keys: created once (the secret is shown then and never again), stored as a SHA-256 hash
with the principal they stand for (tenant, user, roles) and their request-rate limit, listed,
revoked. A key is 32 random bytes, so a plain hash is enough: there is nothing to guess."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from core import ids
from core.db import create_tables
from core.errors import InvalidRequest
from core.principal import Principal

SECRET_PREFIX = "ahk_"  # what a leaked key looks like in a scanner's rules


class KeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True)  # key_<hex>: what lists show and revoke takes
    digest: str = Field(index=True, unique=True)  # sha256 of the secret
    tenant: str
    user: str
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    rpm: int | None = None  # requests a minute, None: the server's default
    created_at: float = Field(default_factory=time.time)
    revoked_at: float | None = None

    @property
    def principal(self) -> Principal:
        return Principal(self.tenant, self.user, frozenset(self.roles))


class UnknownKey(InvalidRequest):
    """No key with that id (or id prefix)."""


@dataclass(frozen=True)
class NewKey:
    row: KeyRow
    secret: str  # shown once


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(SQLModel.metadata, engine, [KeyRow.__table__])  # type: ignore[attr-defined]

    def create(
        self, *, tenant: str, user: str, roles: Sequence[str] = (), rpm: int | None = None
    ) -> NewKey:
        if not tenant.strip() or not user.strip():
            raise InvalidRequest("a key needs a tenant and a user")
        if rpm is not None and rpm < 1:
            raise InvalidRequest(f"rpm must be at least 1, not {rpm}")
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        row = KeyRow(
            id=f"key_{secrets.token_hex(8)}",
            digest=digest(secret),
            tenant=tenant.strip(),
            user=user.strip(),
            roles=sorted(set(roles)),
            rpm=rpm,
        )
        with Session(self.engine) as db:
            db.add(row)
            db.commit()
            db.refresh(row)
        return NewKey(row, secret)

    def verify(self, secret: str) -> KeyRow | None:
        """The live key ``secret`` is, or None."""
        wanted = digest(secret)
        with Session(self.engine) as db:
            row = db.exec(select(KeyRow).where(KeyRow.digest == wanted)).first()
        if row is None or row.revoked_at is not None:
            return None
        return row if hmac.compare_digest(row.digest, wanted) else None

    def list(self, *, include_revoked: bool = False) -> Sequence[KeyRow]:
        with Session(self.engine) as db:
            query = select(KeyRow).order_by(col(KeyRow.created_at))
            if not include_revoked:
                query = query.where(col(KeyRow.revoked_at).is_(None))
            return db.exec(query).all()

    def revoke(self, ref: str) -> KeyRow:
        """Revoke a key by its id or a unique prefix; it fails every request from now on."""
        with Session(self.engine) as db:

            def starting_with(prefix: str) -> Sequence[str]:
                match = col(KeyRow.id).startswith(prefix, autoescape=True)
                return db.exec(select(KeyRow.id).where(match).limit(6)).all()

            found = ref if db.get(KeyRow, ref) is not None else None
            key_id = found or ids.resolve(
                ref, "key", starting_with, lambda r: UnknownKey(f"no key {r!r}"), "key"
            )
            row = db.get(KeyRow, key_id)
            assert row is not None
            row.revoked_at = time.time()
            db.add(row)
            db.commit()
            db.refresh(row)
            return row
