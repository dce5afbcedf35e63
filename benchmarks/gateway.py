"""The latency ``agenthost gateway`` adds over a direct router call, and its queue when full.

**Added latency.** One request mix, production-like (``benchmarks/gateway_scripts.py``: 80 %
short chats of ~50 tokens in and ~30 out, 20 % long ones of ~2000 in and ~300 out, sizes
spread log-normally, seeded), is sent each of these ways at each concurrency, streamed (SSE,
read to ``[DONE]`` and the end of the body) and not:

1. **direct**, the floor: ``Router.stream`` in this process, built by ``build_router`` from
   the same ``[inference]`` config the gateway gets;
2. **bare HTTP**: the same router behind a bare ASGI app on uvicorn (``gateway_scripts.
   bare_app``, a process of its own) that answers the same bytes the gateway would, with no
   key, limit, queue, guardrail or bookkeeping: bare minus direct is what uvicorn, h11 and
   the client cost by themselves, and a gateway minus bare is what the gateway adds over
   HTTP (the "over bare HTTP" column). (Before 2026-12-02 this floor answered without the
   model, so its latency lacked the router's ~1 ms a request, and the HTTP rows read as
   ~1-2.5 ms slower than the in-process ones "for no known reason".)
3. **gateway**: ``agenthost gateway`` on a loopback port, a process of its own, a real key,
   the default ``[guardrails]`` policy (every prompt screened, every whole reply checked);
4. **gateway, guardrails off**: the same with ``[guardrails] enabled = false`` (skip it with
   ``--no-unguarded``): what the guardrails cost, apart from what the gateway does;
5. **in process** (both policies; skip with ``--no-in-process``): the gateway's ASGI app in
   this process, a Host of its own as ``agenthost gateway`` opens it, called with the bytes
   uvicorn would give it and timed to its last body message: the gateway's own code, without
   uvicorn, the kernel's sockets and the client. On a machine whose cores are busy with other
   work, the HTTP rows also carry the cost of every wakeup and context switch a stream makes
   (one per chunk), which this row does not.

The model is the scripted backend with no delay between tokens (the reply's length drawn
from the prompt, so all of them answer the same request with the same tokens): what is left
is the code around it. Each request is timed to its last byte, streams also to their first
token. The client is ``httpx.AsyncClient``, HTTP/1.1 keep-alive, one client of one
connection per worker (see ``connections``: a shared pool slows the client down as it
grows), opened first. Rate limits and the queue are set so that they count but never bind.
They run in alternating rounds on the same requests, so drift in the machine's load
hits them alike; "added" is a gateway minus direct, per percentile. At concurrency 1 that is
the per-request overhead; above it the client, the gateway and (for direct) the router
share the machine's cores, so CPU queueing shows up in every column.

**A saturated queue.** A second gateway with ``slots = 2``, ``max_waiting = 8`` and a model
that holds a slot for ``--hold-ms``: ``--burst`` requests at once (how many are served, how
many refused with 503, the Retry-After values, how long the served ones waited), then
priority: batch-tier requests fill the slots and most of the line, then high-tier ones are
sent, and should finish before every batch request that was waiting.

    python benchmarks/gateway.py [--requests 400] [--concurrency 1,4,16,64] [--rounds 4]
        [--burst 64] [--hold-ms 100] [--no-bare] [--no-unguarded] [--no-in-process]
        [--no-queue] [--json out.json]

The load average is printed with the tables: numbers from a machine busy with other work
are not an idle machine's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

from auth.keys import KeyStore
from inference import ChatRequest, Message, TextDelta
from inference.backend import collect
from inference.config import InferenceConfig
from inference.registry import build_router
from inference.router import Router
from memory.sessions import make_engine

REPO = Path(__file__).resolve().parents[1]
MAX_TOKENS = 1024  # over every reply of the mix: replies end by themselves
CHAT = "/v1/chat/completions"

CONFIG = """
[inference.backends.local]
kind = "scripted"
script = "benchmarks.gateway_scripts:{script}"
token_delay_s = {delay}

[servers.time]
enabled = false

[gateway.limits]
key = {{ rpm = 1000000000 }}
ip = {{ rpm = 1000000000 }}

[gateway.queue]
slots = {slots}
max_waiting = {max_waiting}
tenant_tiers = {{ vip = "high", bulk = "batch" }}
"""


GATEWAY = "gateway"
UNGUARDED = "gateway, guardrails off"
IN_PROCESS = "in process"
IN_PROCESS_UNGUARDED = "in process, guardrails off"
GATEWAYS = (GATEWAY, UNGUARDED, IN_PROCESS, IN_PROCESS_UNGUARDED)
NO_GUARDRAILS = "\n[guardrails]\nenabled = false\n"


def config(script: str, *, delay: float = 0.0, slots: int = 64, max_waiting: int = 1024) -> str:
    return CONFIG.format(script=script, delay=delay, slots=slots, max_waiting=max_waiting)


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# ---- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until_listening(port: int, proc: subprocess.Popen[bytes], log: Path, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"nothing listens on {port} after {within_s:g} s") from None
            time.sleep(0.1)


@dataclass
class Server:
    url: str
    home: Path

    def key(self, tenant: str, user: str, *roles: str) -> str:
        """A new key in the gateway's store (what ``agenthost keys create`` makes)."""
        keys = KeyStore(make_engine(f"sqlite:///{self.home / 'agenthost.db'}"))
        return keys.create(tenant=tenant, user=user, roles=roles).secret


@contextlib.contextmanager
def serving(workdir: Path, argv: list[str], env: dict[str, str]) -> Iterator[Server]:
    """A server process on a free loopback port (``{port}`` in ``argv``), until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    home = workdir / "home"
    env = os.environ | {"PYTHONPATH": str(REPO), "AGENTHOST_HOME": str(home)} | env
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [a.replace("{port}", str(port)) for a in argv],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            until_listening(port, proc, log, 60)
            yield Server(f"http://127.0.0.1:{port}", home)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def configured(workdir: Path, toml: str) -> Path:
    """``workdir`` made, with ``toml`` as its agenthost.toml (returned)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "agenthost.toml").write_text(toml)
    return workdir / "agenthost.toml"


def gateway(workdir: Path, toml: str) -> contextlib.AbstractContextManager[Server]:
    configured(workdir, toml)
    argv = [sys.executable, "-m", "cli", "gateway", "--port", "{port}"]
    return serving(workdir, argv, {"AGENTHOST_CONFIG": str(workdir / "agenthost.toml")})


def bare(workdir: Path, toml: str) -> contextlib.AbstractContextManager[Server]:
    # uvicorn as serve_http runs it (its defaults: the same loop and HTTP implementation),
    # around a router built from the same [inference] as the gateway's
    from benchmarks.gateway_scripts import ROUTER_CONFIG

    app = "benchmarks.gateway_scripts:bare_app"
    argv = [sys.executable, "-m", "uvicorn", app, "--port", "{port}", "--log-level", "warning"]
    return serving(workdir, argv, {ROUTER_CONFIG: str(configured(workdir, toml))})


# ---- one request, each way -------------------------------------------------------------


@dataclass
class Sample:
    latency_s: float
    first_token_s: float | None = None
    shape: str = ""
    status: int = 200
    tokens: int = 0
    retry_after: str | None = None
    sent_at: float = 0.0
    done_at: float = 0.0


@dataclass(frozen=True)
class Item:
    """One request of the mix, ready to send either way (built before any clock runs)."""

    shape: str
    reply_tokens: int
    request: ChatRequest
    body: dict[bool, bytes]  # stream -> the JSON body


def items(n: int, seed: int) -> list[Item]:
    # by the name the gateway's config imports it by (main puts the repo root on sys.path)
    from benchmarks.gateway_scripts import prompts

    out = []
    for p in prompts(n, seed):
        request = ChatRequest((Message.user(p.text),), max_tokens=MAX_TOKENS, temperature=0.0)
        body = {
            stream: json.dumps(
                {
                    "model": "agenthost",
                    "messages": [{"role": "user", "content": p.text}],
                    "max_tokens": MAX_TOKENS,
                    "stream": stream,
                }
            ).encode()
            for stream in (True, False)
        }
        out.append(Item(p.shape.name, p.reply_tokens, request, body))
    return out


async def direct(router: Router, item: Item, *, stream: bool) -> Sample:
    start = time.perf_counter()
    if not stream:
        result = await collect(router, item.request)
        elapsed = time.perf_counter() - start
        return Sample(elapsed, shape=item.shape, tokens=result.usage.output_tokens)
    first: float | None = None
    tokens = 0
    async for event in router.stream(item.request):
        if isinstance(event, TextDelta):
            tokens += 1
            if first is None:
                first = time.perf_counter() - start
    return Sample(time.perf_counter() - start, first, item.shape, tokens=tokens)


async def over_http(
    client: httpx.AsyncClient, headers: dict[str, str], item: Item, *, stream: bool
) -> Sample:
    sent = time.perf_counter()
    if not stream:
        response = await client.post(CHAT, content=item.body[False], headers=headers)
        done = time.perf_counter()
        tokens = 0
        if response.status_code == 200:
            reply = response.json()
            usage = reply.get("usage")
            tokens = (
                usage["completion_tokens"]
                if usage
                else len(reply["choices"][0]["message"]["content"].split(" "))
            )
        return Sample(
            done - sent,
            None,
            item.shape,
            response.status_code,
            tokens,
            response.headers.get("retry-after"),
            sent,
            done,
        )
    first: float | None = None
    lines = 0
    async with client.stream("POST", CHAT, content=item.body[True], headers=headers) as response:
        # read to the end of the body, not just to [DONE]: a response left unread loses
        # its keep-alive connection
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                lines += 1
                if lines == 2:  # the role chunk comes first, then the first token
                    first = time.perf_counter() - sent
        status = response.status_code
        retry_after = response.headers.get("retry-after")
    done = time.perf_counter()
    tokens = max(0, lines - 3)  # the role chunk, the finish chunk and [DONE] are not tokens
    return Sample(done - sent, first, item.shape, status, tokens, retry_after, sent, done)


One = Callable[[int, Item], Awaitable[Sample]]  # (worker, request) -> its sample


async def drive(concurrency: int, work: Sequence[Item], one: One) -> tuple[list[Sample], float]:
    """``work`` by ``concurrency`` workers taking the next request as they finish one; the
    samples in ``work``'s order and the wall time of it all."""
    samples: list[Sample | None] = [None] * len(work)
    queue = iter(enumerate(work))

    async def worker(w: int) -> None:
        for i, item in queue:
            samples[i] = await one(w, item)

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for w in range(concurrency):
            tg.start_soon(worker, w)
    wall = time.perf_counter() - start
    return [s for s in samples if s is not None], wall


@contextlib.asynccontextmanager
async def connections(url: str, n: int) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``n`` clients of one keep-alive connection each, opened: one per worker. One shared
    pool of ``n`` connections costs the client more per request the more it holds (httpcore
    walks the pool on every request and response): 64 streams at once through one pool took
    ~4.5x the client CPU of 64 clients, and the client's delay showed up as the server's."""
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, limits=one, timeout=120)
            )
            for _ in range(n)
        ]
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(client.get, "/healthz")
        yield clients


def via_router(router: Router, *, stream: bool) -> One:
    async def one(w: int, item: Item) -> Sample:
        return await direct(router, item, stream=stream)

    return one


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]  # fmt: skip


@contextlib.asynccontextmanager
async def in_process(workdir: Path, toml: str) -> AsyncIterator[tuple[ASGIApp, str]]:
    """The gateway's app and a key for it, in this process: a Host of its own (its home in
    ``workdir``), and the completion recorder running, as ``agenthost gateway`` has them."""
    from gateway.app import Gateway
    from host.host import Host
    from settings import load_settings

    settings = load_settings(configured(workdir, toml), home=workdir / "home")
    settings.ensure_home()
    async with Host(settings) as host:
        gw = Gateway(settings, host)
        secret = gw.keys.create(tenant="acme", user="bench").secret
        async with anyio.create_task_group() as tg:
            await tg.start(gw.recorder.run)
            yield gw.app(), secret
            tg.cancel_scope.cancel()


async def over_asgi(app: ASGIApp, secret: str, item: Item, *, stream: bool) -> Sample:
    """``item`` sent to the app as uvicorn would (ASGI spec 2.3, a receive that says
    ``http.disconnect`` once the response has ended), timed to its last body message."""
    body = item.body[stream]
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {secret}".encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "POST", "scheme": "http", "path": CHAT,
        "raw_path": CHAT.encode(), "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8780),
    }  # fmt: skip
    ended = anyio.Event()
    delivered = False
    status, lines = 0, 0
    parts: list[bytes] = []
    first: float | None = None
    done = 0.0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await ended.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, lines, first, done
        if message["type"] == "http.response.start":
            status = message["status"]
            return
        chunk = message.get("body", b"")
        if stream and chunk:
            before = lines
            lines += chunk.count(b"data: ")
            if before < 2 <= lines:  # the role chunk comes first, then the first token
                first = time.perf_counter() - sent
        elif chunk:
            parts.append(chunk)
        if not message.get("more_body"):
            done = time.perf_counter()
            ended.set()

    sent = time.perf_counter()
    await app(scope, receive, send)  # after the last body: the recording, in the background
    tokens = max(0, lines - 3)
    if not stream and status == 200:
        tokens = json.loads(b"".join(parts))["usage"]["completion_tokens"]
    return Sample(done - sent, first, item.shape, status, tokens, None, sent, done)


def via_asgi(app: ASGIApp, secret: str, *, stream: bool) -> One:
    async def one(w: int, item: Item) -> Sample:
        return await over_asgi(app, secret, item, stream=stream)

    return one


def via_http(clients: list[httpx.AsyncClient], headers: dict[str, str], *, stream: bool) -> One:
    async def one(w: int, item: Item) -> Sample:
        return await over_http(clients[w], headers, item, stream=stream)

    return one


# ---- added latency ----------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolated between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0

    def ms(self, q: float, shape: str | None = None) -> float:
        xs = [s.latency_s for s in self.samples if shape is None or s.shape == shape]
        return pct(xs, q) * 1000

    def first_ms(self, q: float) -> float:
        return pct([s.first_token_s for s in self.samples if s.first_token_s is not None], q) * 1000

    @property
    def rate(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else float("nan")


@dataclass
class Level:
    concurrency: int
    stream: bool
    paths: dict[str, Timings]

    def added(
        self, q: float, shape: str | None = None, gateway: str = GATEWAY, floor: str = "direct"
    ) -> float:
        return self.paths[gateway].ms(q, shape) - self.paths[floor].ms(q, shape)


async def overhead(
    gateways: dict[str, Server],
    floor: Server | None,
    levels: list[int],
    n: int,
    rounds: int,
    seed: int,
    apps: dict[str, Path] | None = None,
) -> list[Level]:
    """The levels, each way in alternating rounds; ``apps``: in-process gateways to open
    (name -> the work folder of the HTTP gateway whose config it takes, guardrails and all)."""
    async with contextlib.AsyncExitStack() as opened:
        asgi = {
            name: await opened.enter_async_context(
                in_process(folder.parent / name.replace(" ", "-").replace(",", ""),
                           (folder / "agenthost.toml").read_text())
            )
            for name, folder in (apps or {}).items()
        }  # fmt: skip
        return await _overhead(gateways, floor, levels, n, rounds, seed, asgi)


async def _overhead(
    gateways: dict[str, Server],
    floor: Server | None,
    levels: list[int],
    n: int,
    rounds: int,
    seed: int,
    asgi: dict[str, tuple[ASGIApp, str]],
) -> list[Level]:
    gw = gateways[GATEWAY]
    toml = tomllib.loads((gw.home.parent / "agenthost.toml").read_text())  # what gw runs
    router = build_router(InferenceConfig.model_validate(toml["inference"]), gw.home / "logs")
    keys = {
        name: {"Authorization": f"Bearer {server.key('acme', 'bench')}"}
        for name, server in gateways.items()
    }
    json_type = {"Content-Type": "application/json"}
    work = items(n, seed)
    out: list[Level] = []
    servers = [*gateways.items()] + ([("bare HTTP", floor)] if floor is not None else [])
    try:
        for c in levels:
            async with contextlib.AsyncExitStack() as stack:
                pools = {
                    name: await stack.enter_async_context(connections(server.url, c))
                    for name, server in servers
                }
                for stream in (True, False):
                    ways = {"direct": via_router(router, stream=stream)}
                    for name, clients in pools.items():
                        headers = json_type | keys.get(name, {})
                        ways[name] = via_http(clients, headers, stream=stream)
                    for name, (app, secret) in asgi.items():
                        ways[name] = via_asgi(app, secret, stream=stream)
                    out.append(await level(c, stream, ways, work, rounds))
                    mode = "streamed" if stream else "whole"
                    print(f"  concurrency {c}, {mode}: done, load {load()}", file=sys.stderr)
    finally:
        await router.aclose()
    return out


async def level(
    c: int,
    stream: bool,
    ways: dict[str, One],
    work: list[Item],
    rounds: int,
) -> Level:
    # a round keeps every worker busy for most of it: at least four requests each
    rounds = max(1, min(rounds, len(work) // (4 * c)))
    size = -(-len(work) // rounds)
    warm = work[: max(2 * c, 16)]
    for one in ways.values():
        await drive(c, warm, one)  # connections opened, caches warm
    paths = {name: Timings() for name in ways}
    for r in range(rounds):
        chunk = work[r * size : (r + 1) * size]
        for name, one in ways.items():
            samples, wall = await drive(c, chunk, one)
            paths[name].samples += samples
            paths[name].wall_s += wall
    for name, path in paths.items():
        bad = [s for s in path.samples if s.status != 200]
        wrong = [i for i, s in enumerate(path.samples) if s.tokens != work[i].reply_tokens]
        if bad or wrong:
            print(
                f"warning: {name} at {c}: {len(bad)} not 200, {len(wrong)} with another "
                f"number of tokens than asked",
                file=sys.stderr,
            )
    return Level(c, stream, paths)


# ---- a saturated queue --------------------------------------------------------------------


@dataclass
class Saturation:
    burst: int
    slots: int
    max_waiting: int
    hold_ms: float  # one request alone, end to end
    served: list[Sample]
    refused: list[Sample]
    other: list[Sample]
    retry_after: dict[str, int]
    priority: dict[str, list[float]]  # tier -> latencies (s)
    overtaken: list[int]  # per round: the queued batch requests the high ones finished before
    queued: int  # batch requests in the line when the high ones were sent, per round


async def saturation(
    gw: Server, burst: int, rounds: int, slots: int, max_waiting: int
) -> Saturation:
    work = items(1, 1)[0]
    json_type = {"Content-Type": "application/json"}
    keys = {
        t: json_type | {"Authorization": f"Bearer {gw.key(t, 'bench')}"}
        for t in ("acme", "bulk", "vip")
    }
    scrape = {"Authorization": f"Bearer {gw.key('ops', 'prometheus', 'metrics')}"}
    # the connections are open before the burst: it is of requests, not of TCP handshakes
    async with connections(gw.url, max(burst, slots + max_waiting + 2) + 1) as clients:
        watch = clients.pop()  # for the single requests and /metrics
        alone = [await over_http(watch, keys["acme"], work, stream=True) for _ in range(5)]
        hold = statistics.median(s.latency_s for s in alone)

        samples, _ = await drive(
            burst, [work] * burst, via_http(clients, keys["acme"], stream=True)
        )
        served = [s for s in samples if s.status == 200]
        refused = [s for s in samples if s.status == 503]
        other = [s for s in samples if s.status not in (200, 503)]
        await until_idle(watch, scrape)

        # priority: batch requests fill the slots and part of the line, then high ones come
        queued = max_waiting - 2
        tiers: dict[str, list[float]] = {"high (vip)": [], "batch (bulk), queued before": []}
        overtaken = []
        for _ in range(rounds):
            batch: list[Sample] = []
            high: list[Sample] = []
            free = iter(clients)
            async with anyio.create_task_group() as tg:
                for _ in range(slots + queued):
                    tg.start_soon(send_into, batch, next(free), keys["bulk"], work)
                await until_waiting(watch, scrape, queued)
                for _ in range(2):
                    tg.start_soon(send_into, high, next(free), keys["vip"], work)
            # the batch requests that held the slots finish first; the rest waited in line
            line = sorted(batch, key=lambda s: s.done_at)[slots:]
            last_high = max(s.done_at for s in high)
            overtaken.append(sum(1 for s in line if s.done_at > last_high))
            tiers["high (vip)"] += [s.latency_s for s in high]
            tiers["batch (bulk), queued before"] += [s.latency_s for s in line]
            await until_idle(watch, scrape)
    return Saturation(
        burst,
        slots,
        max_waiting,
        hold * 1000,
        served,
        refused,
        other,
        dict(Counter(s.retry_after or "none" for s in refused)),
        tiers,
        overtaken,
        queued,
    )


async def send_into(
    into: list[Sample], client: httpx.AsyncClient, headers: dict[str, str], item: Item
) -> None:
    into.append(await over_http(client, headers, item, stream=True))


async def health(client: httpx.AsyncClient) -> Sample:
    start = time.perf_counter()
    response = await client.get("/healthz")
    return Sample(time.perf_counter() - start, status=response.status_code)


async def queue_gauges(client: httpx.AsyncClient, scrape: dict[str, str]) -> dict[str, float]:
    """``agenthost_gateway_queue_active`` and ``_waiting``, from /metrics."""
    text = (await client.get("/metrics", headers=scrape)).text
    prefix = "agenthost_gateway_queue_"
    return {
        line.split()[0].removeprefix(prefix): float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


async def until_waiting(client: httpx.AsyncClient, scrape: dict[str, str], n: int) -> None:
    """Poll the other process's gauges until ``n`` requests wait in its queue."""
    with anyio.fail_after(30):
        while True:
            if (await queue_gauges(client, scrape))["waiting"] >= n:
                return
            await anyio.sleep(0.005)


async def until_idle(client: httpx.AsyncClient, scrape: dict[str, str]) -> None:
    with anyio.fail_after(60):
        while True:
            if not any((await queue_gauges(client, scrape)).values()):
                return
            await anyio.sleep(0.02)


# ---- tables ---------------------------------------------------------------------------


def overhead_table(levels: list[Level]) -> str:
    """One row per level, mode and gateway (guardrails on, and off when it was measured)."""
    floors = ["direct", "bare HTTP"]
    if not any("bare HTTP" in lv.paths for lv in levels):
        floors.remove("bare HTTP")
    ways = " / ".join([*(n.removesuffix(" HTTP") for n in floors), "gw"])
    head = ["concurrency", "mode", "gateway, guardrails", *(f"{n} p50 / p95" for n in floors)]
    head += ["gateway p50 / p95", "**added p50 / p95**", "added p50 short / long"]
    if "bare HTTP" in floors:
        head += ["**over bare HTTP p50 / p95**"]
    head += [f"first token p50: {ways}", f"req/s: {ways}"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * (len(head) - 3)]
    for lv in levels:
        for gateway in GATEWAYS:
            if gateway not in lv.paths:
                continue
            paths = [lv.paths[n] for n in [*floors, gateway]]
            row = [str(lv.concurrency), "streamed" if lv.stream else "whole"]
            where = "in process" if gateway.startswith(IN_PROCESS) else "HTTP"
            guarded = "off" if gateway in (UNGUARDED, IN_PROCESS_UNGUARDED) else "on"
            row += [f"{where}, {guarded}"]
            row += [f"{p.ms(50):.2f} / {p.ms(95):.2f}" for p in paths]
            row += [
                f"**{lv.added(50, None, gateway):+.2f} / {lv.added(95, None, gateway):+.2f}**",
                f"{lv.added(50, 'short', gateway):+.2f} / {lv.added(50, 'long', gateway):+.2f}",
            ]
            if "bare HTTP" in floors:
                over = [lv.added(q, None, gateway, "bare HTTP") for q in (50, 95)]
                row += ["" if where != "HTTP" else f"**{over[0]:+.2f} / {over[1]:+.2f}**"]
            row += [
                " / ".join(f"{p.first_ms(50):.2f}" for p in paths) if lv.stream else "",
                " / ".join(f"{p.rate:.0f}" for p in paths),
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def saturation_tables(s: Saturation) -> str:
    lat = [x.latency_s * 1000 for x in s.served]
    wait = [max(0.0, v - s.hold_ms) for v in lat]
    retry = ", ".join(f"{v} s x{n}" for v, n in sorted(s.retry_after.items())) or "-"
    refused_ms = pct([x.latency_s * 1000 for x in s.refused], 50)
    everyone = s.served + s.refused + s.other
    spread_ms = (max(x.sent_at for x in everyone) - min(x.sent_at for x in everyone)) * 1000
    lines = [
        f"| {s.burst} streamed requests at once, slots = {s.slots}, max_waiting = {s.max_waiting}"
        " | |",
        "|---|---:|",
        f"| one request alone (a slot's hold) | {s.hold_ms:.0f} ms |",
        f"| served (200) | {len(s.served)} |",
        f"| refused (503 queue_full) | {len(s.refused)} |",
    ]
    if s.other:
        lines.append(f"| other statuses | {dict(Counter(x.status for x in s.other))} |")
    lines += [
        f"| Retry-After on the 503s | {retry} |",
        f"| the burst's sends spread over (the client's own pace) | {spread_ms:.0f} ms |",
        f"| 503 answered in, p50 (from its send) | {refused_ms:.1f} ms |",
        f"| served: latency p50 / p95 | {pct(lat, 50):.0f} / {pct(lat, 95):.0f} ms |",
        f"| served: wait for a slot p50 / p95 (latency - hold) | "
        f"{pct(wait, 50):.0f} / {pct(wait, 95):.0f} ms |",
        "",
        f"| priority: {s.slots} batch requests hold the slots, {s.queued} more wait, then 2 "
        f"high-tier ones arrive ({len(s.overtaken)} rounds) | requests | mean latency | "
        "p95 latency |",
        "|---|---:|---:|---:|",
    ]
    for tier, xs in s.priority.items():
        ms = [x * 1000 for x in xs]
        lines.append(
            f"| {tier} | {len(ms)} | {statistics.fmean(ms):.0f} ms | {pct(ms, 95):.0f} ms |"
        )
    ahead = sum(s.overtaken)
    lines.append(
        f"| queued batch requests the high ones finished before | "
        f"{ahead} of {s.queued * len(s.overtaken)} | | |"
    )
    return "\n".join(lines)


def stack() -> str:
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    import uvicorn

    return f"uvicorn {uvicorn.__version__} ({http}, {loop}), httpx {httpx.__version__}"


# ---- main -----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--requests", type=int, default=400, help="requests per level and mode")
    ap.add_argument("--concurrency", default="1,4,16,64", help="levels (comma-separated)")
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds per level")
    ap.add_argument("--seed", type=int, default=0, help="seed of the request mix")
    ap.add_argument("--burst", type=int, default=64, help="requests fired at the full queue")
    ap.add_argument("--hold-ms", type=float, default=100.0, help="a slot's hold, saturated")
    ap.add_argument("--priority-rounds", type=int, default=3)
    ap.add_argument("--no-bare", action="store_true", help="skip the bare-HTTP floor")
    ap.add_argument(
        "--no-unguarded", action="store_true", help="skip the gateway with guardrails off"
    )
    ap.add_argument(
        "--no-in-process", action="store_true", help="skip the gateway app called in process"
    )
    ap.add_argument("--no-queue", action="store_true", help="skip the saturated queue")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    # the scripted model is imported by name (benchmarks.gateway_scripts), here and there
    sys.path.insert(0, str(REPO))
    work = Path(tempfile.mkdtemp(prefix="agenthost-bench-gateway-"))
    print(f"load before: {load()}; {os.cpu_count()} CPUs; in {work}", file=sys.stderr)

    with contextlib.ExitStack() as servers:
        gateways = {GATEWAY: servers.enter_context(gateway(work / "gateway", config("production")))}
        off = config("production") + NO_GUARDRAILS
        if not args.no_unguarded:
            gateways[UNGUARDED] = servers.enter_context(gateway(work / "unguarded", off))
        floor = None if args.no_bare else servers.enter_context(bare(work / "bare", off))
        print(f"servers up, load {load()}", file=sys.stderr)
        apps = {} if args.no_in_process else {IN_PROCESS: work / "gateway"}
        if not args.no_in_process and not args.no_unguarded:
            apps[IN_PROCESS_UNGUARDED] = work / "unguarded"
        results = anyio.run(
            overhead, gateways, floor, levels, args.requests, args.rounds, args.seed, apps
        )
    after_overhead = load()
    sat = None
    if not args.no_queue:
        slots, max_waiting = 2, 8
        toml = config(
            "steady", delay=args.hold_ms / 1000 / 20, slots=slots, max_waiting=max_waiting
        )
        with gateway(work / "saturated", toml) as full:
            sat = anyio.run(saturation, full, args.burst, args.priority_rounds, slots, max_waiting)

    mix = "80 % short (~50 in / ~30 out tokens), 20 % long (~2000 in / ~300 out)"
    print(
        f"\n{args.requests} requests per row, {mix}; ms; scripted model, no token delay; "
        f"{stack()}; {os.cpu_count()} CPUs, load after: {after_overhead}\n"
    )
    print(overhead_table(results))
    print(
        "\nadded = the row's gateway minus direct at that percentile (in process: the "
        "gateway's own code); over bare HTTP = an HTTP gateway minus the bare floor (the same "
        "router behind uvicorn and nothing else): what the gateway adds over HTTP; HTTP: "
        "agenthost gateway on a loopback port; in process: its ASGI app called in this process "
        "(no uvicorn, sockets or client); guardrails: the default policy (on) or [guardrails] "
        "enabled = false (off); short / long: the mix's two kinds alone. "
        "Above concurrency 1 the client, the servers and the direct router share the "
        "cores: CPU queueing is in every column, not only the gateway's."
    )
    if sat is not None:
        print(f"\nsaturated queue; load after: {load()}\n")
        print(saturation_tables(sat))
    if args.json:
        data = {
            "levels": [
                {
                    "concurrency": lv.concurrency,
                    "stream": lv.stream,
                    "paths": {n: [asdict(s) for s in p.samples] for n, p in lv.paths.items()},
                }
                for lv in results
            ],
            "saturation": asdict(sat) if sat else None,
        }
        args.json.write_text(json.dumps(data))


if __name__ == "__main__":
    main()
