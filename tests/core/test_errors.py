"""The error tree: every package's errors sit under one root, in the category that fixes their
exit code; foreign errors a user can cause become one-line config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.errors as core
from agents.budget import BudgetExceeded
from agents.errors import ApprovalDenied, StepLimitReached
from approvals import NotPending, PolicyError
from core.principal import TraceContext
from host.errors import RunRejected, UnknownRole
from host.mcp_servers import ServerUnavailable, ToolTimeout
from inference.errors import BackendTimeout, ModelNotFound, NoBackendAvailable
from memory.sessions import NotInScope, SessionNotFound
from rag.errors import ChunkNotFound, IndexBusy, RagConfigError, UnknownCollection
from sandbox.errors import FileTooLarge, IsolationUnavailable, SessionError
from settings import ConfigFileError

CATEGORY = {
    ConfigFileError: core.ConfigError,
    ModelNotFound: core.ConfigError,
    RagConfigError: core.ConfigError,
    PolicyError: core.ConfigError,
    RunRejected: core.InvalidRequest,
    UnknownRole: core.InvalidRequest,
    SessionNotFound: core.InvalidRequest,
    NotInScope: core.InvalidRequest,
    NotPending: core.InvalidRequest,
    UnknownCollection: core.InvalidRequest,
    ChunkNotFound: core.InvalidRequest,
    SessionError: core.InvalidRequest,
    FileTooLarge: core.InvalidRequest,
    BackendTimeout: core.Unavailable,
    NoBackendAvailable: core.Unavailable,
    ServerUnavailable: core.Unavailable,
    ToolTimeout: core.Unavailable,
    IndexBusy: core.Unavailable,
    IsolationUnavailable: core.Unavailable,
    BudgetExceeded: core.BudgetExhausted,
    ApprovalDenied: core.Denied,
    StepLimitReached: core.AgentHostError,
}


@pytest.mark.parametrize(("error", "category"), CATEGORY.items(), ids=lambda c: c.__name__)
def test_each_error_has_its_category(error: type[Exception], category: type[Exception]) -> None:
    assert issubclass(error, category)
    assert error.exit_code == category.exit_code  # type: ignore[attr-defined]


def test_the_table_has_one_row_per_code() -> None:
    codes = [e.code for e in core.EXIT_CODES]
    assert len(codes) == len(set(codes))
    assert {core.ConfigError.exit_code, core.Unavailable.exit_code, 4, 5, 130} <= set(codes)
    assert "4 a budget ran out" in core.exit_codes_text()


def test_foreign_errors_become_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"home = '\xff\xfe'\n")
    utf8 = r"bad\.toml: not UTF-8 text"
    with pytest.raises(core.ConfigError, match=utf8) as caught, core.map_errors(str(bad)):
        bad.read_text()
    assert "\n" not in str(caught.value)
    with pytest.raises(core.ConfigError, match="no such file"), core.map_errors():
        (tmp_path / "missing").read_text()
    with pytest.raises(ZeroDivisionError), core.map_errors():  # a bug stays a bug
        _ = 1 / 0


def test_trace_context_round_trip() -> None:
    ctx = TraceContext.new()
    again = TraceContext.parse(ctx.traceparent("00f067aa0ba902b7"))
    assert (again.trace_id, again.parent_span_id) == (ctx.trace_id, "00f067aa0ba902b7")
    with pytest.raises(core.InvalidRequest):
        TraceContext.parse("00-" + "0" * 32 + "-00f067aa0ba902b7-01")
