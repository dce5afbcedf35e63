"""Request ids: which are accepted, the context they are served in, and log lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import anyio
import anyio.lowlevel
import pytest

from cli.boundary import FILE_FORMAT, STDERR_FORMAT
from core import logctx
from core.errors import InvalidRequest
from core.logctx import RequestIdFilter, check_request_id, new_request_id, request_scope


@pytest.mark.parametrize(
    "rid", ["a", "req-42", "0af7651916cd43dd8448eb211c80319c", "svc.v2:run_7-x", "x" * 128]
)
def test_request_ids_that_are_accepted(rid: str) -> None:
    assert check_request_id(rid) == rid


@pytest.mark.parametrize(
    "rid", ["", "x" * 129, "has space", "new\nline", "trailing\n", "semi;colon", "é", "a/b"]
)
def test_request_ids_that_are_refused(rid: str) -> None:
    with pytest.raises(InvalidRequest, match="request id is 1 to 128 characters"):
        check_request_id(rid)


def test_a_new_request_id_is_a_valid_one() -> None:
    rid = new_request_id()
    assert check_request_id(rid) == rid
    assert new_request_id() != rid


def test_a_scope_sets_the_id_and_restores_the_one_before() -> None:
    assert logctx.current() is None
    with request_scope("outer"):
        assert logctx.current() == "outer"
        with request_scope("inner"):
            assert logctx.current() == "inner"
        with request_scope(None):  # None keeps the id in effect
            assert logctx.current() == "outer"
        assert logctx.current() == "outer"
    assert logctx.current() is None


def test_tasks_started_in_a_scope_carry_its_id() -> None:
    seen: list[str | None] = []

    async def child() -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(logctx.current())

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            with request_scope("req-1"):
                tg.start_soon(child)
            tg.start_soon(child)

    anyio.run(main)
    assert sorted(seen, key=str) == [None, "req-1"]


@pytest.fixture
def handler() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    out = io.StringIO()
    made = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(made)
    try:
        yield made, out
    finally:
        root.removeHandler(made)


@pytest.mark.parametrize("fmt", [STDERR_FORMAT, FILE_FORMAT])
def test_a_plain_library_loggers_line_formats_with_agenthosts_formats(
    handler: tuple[logging.Handler, io.StringIO], fmt: str
) -> None:
    made, out = handler
    made.setFormatter(logging.Formatter(fmt))
    logctx.install()
    library = logging.getLogger("somelibrary.pool")  # propagates to the root's handlers
    library.warning("outside")
    with request_scope("req-7"):
        library.warning("inside %s", "a request")
    library.warning("given", extra={"request_id": "explicit"})
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("WARNING somelibrary.pool [-]: outside")
    assert lines[1].endswith("WARNING somelibrary.pool [req-7]: inside a request")
    assert lines[2].endswith("WARNING somelibrary.pool [explicit]: given")


def test_install_puts_one_filter_on_each_handler(
    handler: tuple[logging.Handler, io.StringIO],
) -> None:
    made, _ = handler
    logctx.install()
    logctx.install()
    assert sum(isinstance(f, RequestIdFilter) for f in made.filters) == 1


def test_without_the_filter_the_format_would_fail_the_line() -> None:
    """Why the filter is on the handlers: the format names an attribute records lack."""
    record = logging.LogRecord("somelibrary", logging.INFO, __file__, 1, "hi", None, None)
    with pytest.raises(ValueError, match="request_id"):
        logging.Formatter(STDERR_FORMAT).format(record)
    RequestIdFilter().filter(record)
    assert logging.Formatter(STDERR_FORMAT).format(record) == "INFO somelibrary [-]: hi"
