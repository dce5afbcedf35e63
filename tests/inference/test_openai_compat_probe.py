"""The OpenAI-compatible backend finds out what a server supports, and works as documented.

Against a real ``llama_cpp.server`` (the embedded SmolLM2 weights): the default config calls
tools, input tokens are counted, the README's "Use an OpenAI-compatible server" section runs
as written and a small input-token budget stops a run. Against a tiny scripted HTTP server on
127.0.0.1: the response shapes of vLLM, SGLang and TGI, servers that refuse a
``response_format``, and one that can do nothing with tools.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from inference import BackendResponseError, ChatRequest, Message, ToolCallEvent, collect
from inference.backends.llama_server import LlamaServerBackend
from inference.backends.openai_compat import OpenAICompatBackend, UnsupportedByServer
from inference.backends.scripted import ScriptedBackend, Turn
from inference.config import OpenAIConfig, RouterConfig
from inference.openai_wire import ChunkAssembler
from inference.process import free_port
from inference.router import Router
from tests.inference.sample_tools import WEATHER
from tests.inference.test_openai_server import server  # noqa: F401  (the real server fixture)

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
LISBON = ChatRequest(
    (Message.user("What's the weather in Lisbon?"),),
    tools=(WEATHER,),
    tool_choice="required",
    max_tokens=60,
)

# ---- a scripted OpenAI-compatible server on a real socket ----------------------------

Body = dict[str, Any]
Reply = tuple[int, list[Body] | str]  # status, and the chunks to stream or an error text


@dataclass
class FakeServer:
    """Answers ``/v1/chat/completions`` with what ``reply(body)`` returns; records requests."""

    reply: Callable[[Body], Reply]
    tokenize: str | None = None  # the tokenizer endpoint it has, if any
    requests: list[Body] = field(default_factory=list)
    url: str = ""

    def chats(self, text: str) -> list[Body]:
        """The chat requests whose messages contain ``text``."""
        return [b for b in self.requests if text in json.dumps(b.get("messages"))]


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Callable[[Body], Reply], tokenize: str | None = None) -> FakeServer:
        spec = FakeServer(reply, tokenize)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(200, json.dumps({"data": [{"id": "fake"}]}).encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == spec.tokenize:
                    text = body.get("input") or body.get("content") or ""
                    self._send(200, json.dumps({"tokens": text.split()}).encode())
                    return
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                spec.requests.append(body)
                status, out = spec.reply(body)
                if isinstance(out, str):
                    self._send(status, json.dumps({"error": {"message": out}}).encode())
                    return
                events = "".join(f"data: {json.dumps(c)}\n\n" for c in out)
                self._send(200, (events + "data: [DONE]\n\n").encode(), "text/event-stream")

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        spec.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        return spec

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def chunk(delta: Body, finish: str | None = None, **extra: Any) -> Body:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}


def text_reply(text: str) -> list[Body]:
    words = text.split(" ")
    pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
    return (
        [chunk({"role": "assistant"})]
        + [chunk({"content": p}) for p in pieces]
        + [chunk({}, "stop")]
    )


def call_args(body: Body) -> tuple[str, str]:
    """The call a well-behaved model makes for the first tool offered."""
    name = body["tools"][0]["function"]["name"] if body.get("tools") else _named_tool(body)
    return name, json.dumps({"ok": True} if name == "agenthost_probe" else {"city": "Lisbon"})


def _named_tool(body: Body) -> str:
    return "get_weather" if "get_weather" in json.dumps(body["messages"]) else "agenthost_probe"


def usage(prompt: int = 57, completion: int = 9, **more: Any) -> Body:
    return {"prompt_tokens": prompt, "completion_tokens": completion, **more}


def vllm(body: Body) -> Reply:
    """vLLM with a tool-call parser: id and name first, arguments in pieces, then a last
    chunk with no choices and the usage (asked for with stream_options)."""
    if not body.get("tools"):
        return 200, text_reply("Hello there.")
    name, args = call_args(body)
    first = {"index": 0, "id": "chatcmpl-tool-1", "type": "function", "function": {"name": name}}
    out = [
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [first]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:5]}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[5:]}}]}),
        chunk({}, "tool_calls"),
    ]
    if (body.get("stream_options") or {}).get("include_usage"):
        out.append({"choices": [], "usage": usage()})
    return 200, out


def sglang(body: Body) -> Reply:
    """SGLang: name and an empty argument string together, usage with cached tokens last."""
    if not body.get("tools"):
        return 200, text_reply("Hello there.")
    name, args = call_args(body)
    first = {"index": 0, "id": "call_1", "function": {"name": name, "arguments": ""}}
    return 200, [
        chunk({"role": "assistant"}),
        chunk({"tool_calls": [first]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": args}}]}),
        chunk({}, "tool_calls"),
        {"choices": [], "usage": usage(prompt_tokens_details={"cached_tokens": 32})},
    ]


def tgi(body: Body) -> Reply:
    """Older TGI: ``tool_calls`` as one object, not a list; usage on the finishing chunk."""
    if not body.get("tools"):
        return 200, text_reply("Hello there.")
    name, args = call_args(body)
    call = {"index": 0, "id": "", "type": "function", "function": {"name": name}}
    return 200, [
        chunk({"role": "assistant", "tool_calls": call}),
        chunk({"role": "assistant", "tool_calls": {"index": 0, "function": {"arguments": args}}}),
        chunk({}, "eos_token", usage=usage(prompt=41)),
    ]


def no_native_tools(json_schema: int | None, schema: bool) -> Callable[[Body], Reply]:
    """A server that ignores ``tools``; ``json_schema``: the status it answers OpenAI's
    json_schema response_format with (None: it applies it); ``schema``: whether it applies
    llama.cpp's json_object + schema. Bare json_object always gives JSON."""

    def reply(body: Body) -> Reply:
        fmt = body.get("response_format") or {}
        kind = fmt.get("type")
        if kind == "json_schema" and json_schema is not None:
            return json_schema, "response_format: input should be 'text' or 'json_object'"
        if kind is None:
            return 200, text_reply("Sure! The weather in Lisbon is sunny and 25 degrees.")
        applied = kind == "json_schema" or (schema and "schema" in fmt)
        probe = "agenthost_probe" in json.dumps(fmt) or "get_weather" not in json.dumps(body)
        if probe:
            out = {"agenthost_probe": "ok"} if applied else {"greeting": "hello"}
        else:
            name, args = call_args(body)
            out = {"tool": name, "arguments": json.loads(args)}
        return 200, text_reply(json.dumps(out))

    return reply


def nothing(body: Body) -> Reply:
    """Takes every field and ignores it: prose, whatever was asked."""
    return 200, text_reply("Sure! The weather in Lisbon is sunny and 25 degrees.")


def openai_backend(url: str, **kw: Any) -> OpenAICompatBackend:
    return OpenAICompatBackend.from_config("fake", OpenAIConfig(base_url=url, model="m", **kw))


# ---- contract cases on the scripted server -----------------------------------------


@pytest.mark.parametrize("shape", [vllm, sglang, tgi], ids=["vllm", "sglang", "tgi"])
async def test_native_tool_calls_in_each_servers_stream_shape(
    fake: Callable[..., FakeServer], shape: Callable[[Body], Reply]
) -> None:
    srv = fake(shape)
    backend = openai_backend(srv.url)
    try:
        first = await collect(backend, LISBON)
        second = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert backend.modes.tool_mode == "native"
    assert backend.capabilities.native_tools
    for result in (first, second):
        assert result.tool_errors == []
        assert [(c.name, c.arguments) for c in result.tool_calls] == [
            ("get_weather", {"city": "Lisbon"})
        ]
        assert result.finish_reason == "tool_calls"
        assert result.usage.input_tokens == (41 if shape is tgi else 57)
        assert not result.usage.estimated
    assert backend.modes.input_tokens == "usage"
    if shape is sglang:
        assert first.usage.cached_tokens == 32
    assert len(srv.chats("agenthost_probe")) == 1  # probed once, for both calls
    assert len(srv.chats("Lisbon")) == 2


async def test_a_server_that_refuses_json_schema_gets_llama_cpp_style(
    fake: Callable[..., FakeServer],
) -> None:
    srv = fake(no_native_tools(json_schema=400, schema=True), tokenize="/tokenize")
    backend = openai_backend(srv.url)
    try:
        result = await collect(backend, LISBON)
        again = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert (backend.modes.tool_mode, backend.modes.schema_style) == ("json", "llama_cpp")
    assert backend.modes.notes[:2] == [
        "native tools: no tool_calls came back for tool_choice=required",
        "response_format json_schema: HTTP 400 from "
        f'{srv.url}/chat/completions: {{"error": {{"message": "response_format: input '
        "should be 'text' or 'json_object'\"}}",
    ]
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_weather", {"city": "Lisbon"})
    ]
    assert [(c.name, c.arguments) for c in again.tool_calls] == [
        ("get_weather", {"city": "Lisbon"})
    ]
    sent = srv.chats("Lisbon")
    assert len(sent) == 2
    assert all("tools" not in b for b in sent)
    assert sent[0]["response_format"]["type"] == "json_object"
    assert "schema" in sent[0]["response_format"]
    # no usage in the stream: the server's /tokenize counted the prompt
    assert result.usage.input_tokens > 20
    assert result.usage.estimated
    assert backend.modes.input_tokens == "/tokenize"
    assert len(srv.requests) == 2 + 3  # native probe, json_schema, json_object+schema


async def test_a_500_for_every_schema_falls_back_to_bare_json_object(
    fake: Callable[..., FakeServer],
) -> None:
    srv = fake(no_native_tools(json_schema=500, schema=False))
    backend = openai_backend(srv.url)
    try:
        result = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert (backend.modes.tool_mode, backend.modes.schema_style) == ("json", "json_object")
    assert "json_object+schema: the reply ignores the schema" in "; ".join(backend.modes.notes)
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert srv.chats("Lisbon")[-1]["response_format"] == {"type": "json_object"}
    # neither usage nor a tokenizer endpoint: four characters a token
    assert result.usage.input_tokens > 20
    assert result.usage.estimated
    assert backend.modes.input_tokens == "chars/4"


async def test_no_capability_is_a_clear_error_and_tools_are_never_dropped(
    fake: Callable[..., FakeServer],
) -> None:
    srv = fake(nothing)
    backend = openai_backend(srv.url)
    try:
        with pytest.raises(UnsupportedByServer) as info:
            await collect(backend, LISBON)
        probes = len(srv.requests)
        with pytest.raises(UnsupportedByServer):
            await collect(backend, LISBON)  # the verdict is kept: no second probe
        plain = await collect(backend, ChatRequest((Message.user("Hi"),), max_tokens=8))
    finally:
        await backend.aclose()
    message = str(info.value)
    assert "\n" not in message
    assert f"{srv.url} takes no tools" in message
    assert "native tools: no tool_calls came back" in message
    assert "response_format json_object: the reply is not JSON" in message
    assert not info.value.retryable
    assert info.value.exit_code == 3
    assert srv.chats("Lisbon") == []  # the request was never sent without its tools
    assert len(srv.requests) == probes + 1 == 5
    assert plain.text  # requests without tools still go


async def test_the_router_falls_back_from_a_server_without_tools(
    fake: Callable[..., FakeServer],
) -> None:
    srv = fake(nothing)
    local = ScriptedBackend(lambda request: Turn("from the next backend"), name="local")
    router = Router(
        {"fake": openai_backend(srv.url), "local": local},
        {"main": ["fake", "local"]},
        RouterConfig(retries=1),
    )
    try:
        result = await collect(router, LISBON)
    finally:
        await router.aclose()
    assert result.text == "from the next backend"
    assert [(d.backend, d.action) for d in result.route] == [
        ("fake", "chosen"),
        ("local", "fallback"),
    ]


async def test_a_busy_server_decides_nothing(fake: Callable[..., FakeServer]) -> None:
    busy = [True]

    def reply(body: Body) -> Reply:
        if busy[0]:
            return 503, "loading model"
        return vllm(body)

    srv = fake(reply)
    backend = openai_backend(srv.url)
    try:
        with pytest.raises(BackendResponseError) as info:
            await collect(backend, LISBON)
        assert info.value.status == 503
        assert info.value.retryable
        assert backend.modes.tool_mode is None
        busy[0] = False
        result = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert backend.modes.tool_mode == "native"
    assert [c.name for c in result.tool_calls] == ["get_weather"]


async def test_a_busy_reply_midway_through_the_probe_is_not_kept(
    fake: Callable[..., FakeServer],
) -> None:
    inner = no_native_tools(json_schema=400, schema=True)
    busy = [True]

    def reply(body: Body) -> Reply:
        if busy[0] and "schema" in (body.get("response_format") or {}):
            busy[0] = False
            return 503, "overloaded"
        return inner(body)

    srv = fake(reply)
    backend = openai_backend(srv.url)
    try:
        with pytest.raises(BackendResponseError, match="HTTP 503"):
            await collect(backend, LISBON)
        result = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert (backend.modes.tool_mode, backend.modes.schema_style) == ("json", "llama_cpp")
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert len(backend.modes.notes) == 2  # one native, one json_schema: nothing twice


async def test_explicit_modes_are_not_probed(fake: Callable[..., FakeServer]) -> None:
    srv = fake(no_native_tools(json_schema=None, schema=True))
    backend = openai_backend(srv.url, tool_mode="json", schema_style="openai")
    try:
        result = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert len(srv.requests) == 1
    assert srv.requests[0]["response_format"]["type"] == "json_schema"


def test_a_name_repeated_on_every_chunk_and_object_arguments_assemble() -> None:
    asm = ChunkAssembler((WEATHER,), json_tools=False)
    pieces: list[Body] = [
        {"index": 0, "id": "c1", "function": {"name": "get_weather", "arguments": ""}},
        {"index": 0, "function": {"name": "get_weather", "arguments": {"city": "Lisbon"}}},
    ]
    events = [e for p in pieces for e in asm.feed(chunk({"tool_calls": [p]}))]
    events += list(asm.finish())
    assert [(e.call.name, e.call.arguments) for e in events if isinstance(e, ToolCallEvent)] == [
        ("get_weather", {"city": "Lisbon"})
    ]


# ---- a real llama_cpp.server ---------------------------------------------------------


@pytest.mark.realmodel
async def test_default_config_calls_the_tool_on_llama_cpp_server(
    server: LlamaServerBackend,  # noqa: F811
) -> None:
    backend = OpenAICompatBackend.from_config(
        "llama", OpenAIConfig(base_url=server.base_url, model=server.model)
    )
    try:
        result = await collect(backend, LISBON)
        health = await backend.health()
        again = await collect(backend, LISBON)
    finally:
        await backend.aclose()
    assert result.tool_errors == []
    assert [c.name for c in result.tool_calls] == ["get_weather"]
    assert isinstance(result.tool_calls[0].arguments["city"], str)
    # greedy: the same call again, with no new probe in between
    assert [c.arguments for c in again.tool_calls] == [result.tool_calls[0].arguments]
    # llama_cpp.server ignores tool_choice="required" and answers json_schema with a 500
    assert (backend.modes.tool_mode, backend.modes.schema_style) == ("json", "llama_cpp")
    notes = "; ".join(backend.modes.notes)
    assert "native tools: no tool_calls came back" in notes
    assert "response_format json_schema: HTTP 500" in notes
    assert "tools: json (json_object+schema)" in health.detail
    # it reports no usage while streaming: its tokenizer counted the prompt
    assert backend.modes.input_tokens == "/extras/tokenize/count"
    assert result.usage.input_tokens > 50
    assert result.usage.estimated


# ---- the README section, run as written ------------------------------------------------

SECTION = "## Use an OpenAI-compatible server"


def readme_section() -> tuple[str, list[str], str]:
    """The section's agenthost.toml, its server command lines and its ``agenthost run`` line."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    toml = re.findall(r"```toml\n(.*?)```", section, re.S)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    bash = [line for block in blocks for line in block.strip().splitlines()]
    runs = [line for line in bash if line.startswith(".venv/bin/agenthost run")]
    return toml, [line for line in bash if line not in runs], runs[0]


@dataclass
class Readme:
    cwd: Path
    run_line: str
    port: int

    def run(
        self, *flags: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        line = self.run_line.replace(
            ".venv/bin/agenthost run", f".venv/bin/agenthost run {' '.join(flags)}"
        )
        # as a user's shell would have it: no test settings, a home of its own
        base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTHOST_")}
        base["AGENTHOST_HOME"] = str(self.cwd / "home")
        return subprocess.run(
            ["bash", "-c", line], cwd=self.cwd, env=base | (env or {}),
            capture_output=True, text=True, timeout=280, check=False,
        )  # fmt: skip


@pytest.fixture(scope="module")
def readme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Readme]:
    """The README's server, started as its lines say, in a folder holding its agenthost.toml
    (and a link to this checkout's .venv, which the lines name). Only the port differs: 8080
    may be taken on a shared machine."""
    toml, server_lines, run_line = readme_section()
    port = free_port()
    cwd = tmp_path_factory.mktemp("readme")
    (cwd / ".venv").symlink_to(REPO / ".venv")
    (cwd / "agenthost.toml").write_text(toml.replace(":8080", f":{port}"))
    script = "\n".join(server_lines).replace("--port 8080", f"--port {port}")
    log = (cwd / "server.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-c", script], cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (cwd / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the README's server did not start"
            time.sleep(0.3)
        yield Readme(cwd, run_line, port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the session this fixture started
        proc.wait(timeout=30)
        log.close()


TOKENS = re.compile(r"(\d+)\+(\d+) tokens")


@pytest.fixture(scope="module")
def readme_run(readme: Readme) -> subprocess.CompletedProcess[str]:
    """The section's ``agenthost run`` line, as written."""
    return readme.run()


def input_tokens_of(done: subprocess.CompletedProcess[str]) -> int:
    """The input tokens in a run's closing summary line (``N+M tokens``)."""
    summary = TOKENS.findall(done.stderr)
    assert summary, done.stderr[-1000:]
    return int(summary[-1][0])


@pytest.mark.realmodel
def test_readme_openai_server_section_runs_as_written(
    readme_run: subprocess.CompletedProcess[str],
) -> None:
    done = readme_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert "time__get_current_time" in done.stderr  # the tool was called, not an invented time
    assert "Europe/Paris" in done.stderr
    assert done.stdout.strip()
    assert input_tokens_of(done) > 0  # counted, where the server reports none


@pytest.mark.realmodel
def test_an_input_token_budget_stops_a_run_on_that_server(
    readme: Readme, readme_run: subprocess.CompletedProcess[str]
) -> None:
    assert readme_run.returncode == 0, readme_run.stderr[-3000:]
    # Less than the whole run took: the first call fits, and its counted input tokens with
    # the next call's prompt cross the limit. Were they reported as 0 (as they were), only
    # each call's own prompt estimate would be held against it, and the run would complete.
    limit = input_tokens_of(readme_run) - 1
    done = readme.run("--json", env={"AGENTHOST_BUDGETS__RUN__MAX_INPUT_TOKENS": str(limit)})
    assert done.returncode == 4, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["outcome"]["kind"] == "budget_exhausted"
    assert result["outcome"]["budget"]["kind"] == "input_tokens"
    assert result["outcome"]["budget"]["limit"] == limit
    assert result["tokens"]["input"] > 0, result  # the first call ran and was counted


def test_a_run_on_a_server_without_tools_fails_with_exit_3(
    fake: Callable[..., FakeServer], tmp_path: Path
) -> None:
    srv = fake(nothing)
    toml, _, run_line = readme_section()
    (tmp_path / "agenthost.toml").write_text(re.sub(r"http://127\.0\.0\.1:\d+/v1", srv.url, toml))
    task = run_line.removeprefix(".venv/bin/agenthost run ").strip("\"'")
    done = subprocess.run(
        [str(REPO / ".venv/bin/agenthost"), "run", task], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert f"{srv.url} takes no tools" in errors[0]
    assert srv.chats("Europe/Paris") == []  # the task never went out without its tools
