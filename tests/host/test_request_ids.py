"""A run's request id (X-Request-ID) on its session, its root span, its tool calls' _meta and
every log line of the run."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents import OutcomeKind
from agents.request import RunRequest
from cli import app
from cli.boundary import FILE_FORMAT
from core import logctx
from core.principal import Principal
from host.host import Host
from host.toolbox import CallContext
from inference import ChatRequest
from inference.backends.scripted import ScriptedBackend, ScriptedCall, Turn
from settings import ServerConfig, Settings
from tests.host.conftest import ALL_TOOLS

pytestmark = pytest.mark.anyio

META_SERVER = Path(__file__).with_name("meta_server.py")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the root logger's records look like through a handler set up as the CLI sets
    its handlers up (agenthost's format, the filter on the handler)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    logctx.install()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def script(request: ChatRequest) -> Turn:
    """Ask the meta server what the call carried, log a line as a library would, answer."""
    results = [m.content for m in request.messages if m.role == "tool"]
    if not results:
        return Turn("", (ScriptedCall("meta__meta", {}),))
    logging.getLogger("somelibrary.client").info("inside the run")
    return Turn(f"meta: {results[0]}")


async def test_a_runs_request_id_is_on_its_session_span_tool_calls_and_log_lines(
    isolated_home: Path, log_lines: io.StringIO
) -> None:
    meta_server = ServerConfig(command=sys.executable, args=[str(META_SERVER)])
    settings = Settings(home=isolated_home, servers={"meta": meta_server}, tools=ALL_TOOLS)
    request = RunRequest(
        "what did the call carry?",
        principal=Principal("acme", "alice"),
        request_id="req-42.a:b_c",
    )
    async with Host(settings, model=ScriptedBackend(script)) as host:
        result = await host.run(request)
        assert result.outcome.kind is OutcomeKind.COMPLETED, result.outcome
        logging.getLogger("somelibrary.client").info("after the run")

        row = host.store.get(result.session_id)
        assert row.options["request_id"] == "req-42.a:b_c"
        assert host.store.load(result.session_id).request_id == "req-42.a:b_c"
        spans = host.store.spans(result.trace_id)
        (root,) = [s for s in spans if s.parent_id is None]
        assert root.kind == "run"
        assert root.attributes["request_id"] == "req-42.a:b_c"

        # the tool call's _meta: the principal, and the request id beside it
        sent = json.loads(host.store.steps(result.session_id)[0].tools[0].result)
        assert sent["agenthost/request_id"] == "req-42.a:b_c"
        assert sent["agenthost/principal"]["tenant"] == "acme"

        # a run without one: nothing stored, no attribute, no _meta key
        plain = await host.run(RunRequest("and now?", principal=Principal("acme", "alice")))
        assert host.store.get(plain.session_id).options["request_id"] is None
        (plain_root,) = [s for s in host.store.spans(plain.trace_id) if s.parent_id is None]
        assert "request_id" not in plain_root.attributes
        plain_sent = json.loads(host.store.steps(plain.session_id)[0].tools[0].result)
        assert "agenthost/request_id" not in plain_sent

    shown = CliRunner().invoke(app, ["show", result.session_id])
    assert shown.exit_code == 0, shown.output
    assert "request: req-42.a:b_c" in shown.output
    assert "request:" not in CliRunner().invoke(app, ["show", plain.session_id]).output

    lines = log_lines.getvalue().splitlines()
    inside = [line for line in lines if line.endswith("inside the run")]
    assert " INFO somelibrary.client [req-42.a:b_c]: inside the run" in inside[0]
    assert "[-]: inside the run" in inside[1]  # the run without a request id
    after = next(line for line in lines if line.endswith("after the run"))
    assert "[-]: after the run" in after


def test_a_tool_calls_meta_carries_the_request_id_beside_the_principal() -> None:
    alice = Principal("acme", "alice")
    assert CallContext().meta() is None
    assert CallContext(alice).meta() == alice.to_meta()
    assert CallContext(request_id="r-1").meta() == {"agenthost/request_id": "r-1"}
    assert CallContext(alice, request_id="r-1").meta() == {
        **alice.to_meta(),
        "agenthost/request_id": "r-1",
    }


async def test_an_attached_resource_is_read_as_the_runs_principal(isolated_home: Path) -> None:
    """``--attach`` / ``resources``: the read carries the run's principal and request id in
    its ``_meta``, as the run's tool calls do (our servers scope a read by it)."""
    meta_server = ServerConfig(command=sys.executable, args=[str(META_SERVER)])
    settings = Settings(home=isolated_home, servers={"meta": meta_server}, tools=ALL_TOOLS)
    request = RunRequest(
        "what did the read carry?",
        principal=Principal("globex", "bob", frozenset({"reader"})),
        request_id="req-attach",
        resources=("meta:meta://request/x",),
    )
    async with Host(settings, model=ScriptedBackend(lambda r: Turn("done"))) as host:
        result = await host.run(request)
        task = host.store.load(result.session_id).task
    sent = json.loads(task.split("Attached resource meta:meta://request/x:\n", 1)[1])
    assert sent["agenthost/principal"] == {"tenant": "globex", "user": "bob", "roles": ["reader"]}
    assert sent["agenthost/request_id"] == "req-attach"
