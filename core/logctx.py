"""Request ids: the id a request (an ``X-Request-ID``) is known by, checked, carried in a
context variable while the request is served, and put on every log line.

    with request_scope("req-42"):
        log.info("starting")        # ... INFO agenthost.host [req-42] starting

The host enters ``request_scope`` for the duration of a run (``Host.run``), so every log line
of the run carries it, tasks it starts included (they copy the context they start in). A
handler agenthost configures formats ``%(request_id)s`` and has ``RequestIdFilter``, which
gives every record the attribute (``-`` outside a request), third-party loggers' too: a
format naming an attribute a record lacks would fail that line.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.errors import InvalidRequest

MAX_LENGTH = 128
_VALID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")
NONE = "-"  # what a log line shows outside a request
META_KEY = "agenthost/request_id"  # the _meta key a tool call carries the run's request id in

request_id: ContextVar[str | None] = ContextVar("agenthost_request_id", default=None)


def check_request_id(value: str) -> str:
    """``value`` if it can be a request id (1 to 128 of ``A-Z a-z 0-9 . _ : -``), else
    ``InvalidRequest``: it ends up in logs, headers and the database as it is."""
    if _VALID.fullmatch(value) is None:
        raise InvalidRequest(
            f"a request id is 1 to {MAX_LENGTH} characters of A-Z, a-z, 0-9, '.', '_', ':' "
            f"and '-', not {value[: MAX_LENGTH + 8]!r}"
        )
    return value


def new_request_id() -> str:
    """A fresh request id, for a request that came without one."""
    return uuid.uuid4().hex


def current() -> str | None:
    """The request id of the request being served here, if any."""
    return request_id.get()


@contextmanager
def request_scope(rid: str | None) -> Iterator[None]:
    """Serve a request as ``rid`` for the duration of the block (None: keep the id already
    in effect, if any)."""
    if rid is None:
        yield
        return
    token = request_id.set(rid)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Gives a record ``request_id``: the one in effect where it was logged, else ``-``; an
    id given with ``extra={"request_id": ...}`` stays. Install it on handlers (``install``):
    a logger's filter misses the records its children propagate to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or NONE
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put ``RequestIdFilter`` on every handler of ``logger`` (the root logger by default)
    that lacks one."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
