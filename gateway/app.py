"""The gateway's HTTP app: OpenAI-compatible chat completions and the runs API, behind
(outermost first) request ids, a body-size cap, bearer keys and rate limits, with a priority
queue in front of every model call.

    POST /v1/chat/completions     OpenAI's API, streamed (SSE) or not
    GET  /v1/models               the router's tiers, as OpenAI model ids
    POST /v1/runs                 start a headless agent run (Idempotency-Key: the same run)
    GET  /v1/runs                 the caller's recent runs
    GET  /v1/runs/{id}            one run
    POST /v1/runs/{id}/cancel     cancel it (saved as cancelled; `agenthost resume` continues)
    GET  /v1/runs/{id}/events     its events as SSE with ids; Last-Event-ID resumes
    GET  /healthz                 open: is it up
    GET  /metrics                 Prometheus text (a key with the metrics or admin role)
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskStatus
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agents.budget import Budget, BudgetExceeded, BudgetMeter, Spent
from agents.request import AGENT_KINDS, RunRequest
from agents.state import Outcome, OutcomeKind, RunState, Span
from auth.http import ASGIApp as ASGI
from auth.http import BearerAuth, Scope
from auth.keys import KeyStore
from core import logctx
from core.errors import AgentHostError, InvalidRequest
from core.principal import Principal
from gateway.chat import (
    DONE,
    BadChatRequest,
    Completion,
    error_body,
    first_error,
    parse_body,
    to_request,
    trace_of,
)
from gateway.events import EventStore
from gateway.limits import Caller, RateLimiter
from gateway.metrics import CONTENT_TYPE, Metrics
from gateway.queue import QueueFull, RequestQueue
from gateway.runs import RunManager
from gateway.screening import SCREEN_THREADS, check, screen
from gateway.sse import EventStream
from guardrails import Source
from host.guarding import span_attributes
from inference.accounting import FREE, Price
from inference.backend import closing
from inference.openai_wire import estimate_tokens
from inference.types import (
    ChatRequest,
    Finish,
    Generated,
    StreamEvent,
    TextDelta,
    Usage,
    UsageEvent,
)
from settings import Settings

if TYPE_CHECKING:
    from host.host import Host
    from memory.sessions import SessionStore

log = logging.getLogger("agenthost.gateway")

METRICS_ROLES = frozenset({"metrics", "admin"})
NO_CACHE = {"Cache-Control": "no-cache"}
BATCH_S = 0.2  # how long finished completions gather before they are written together
FLUSH_ROWS = 64  # completions per SQLite transaction on the event loop (~10 ms of writing)


def _error(status: int, message: str, kind: str, *, headers: dict[str, str] | None = None,
           param: str | None = None, code: str | None = None) -> JSONResponse:  # fmt: skip
    return JSONResponse(error_body(message, kind, param=param, code=code), status, headers)


# ---- the layers in front of the routes ----------------------------------------------------


class Front:
    """The outermost layer: ``X-Request-ID`` taken from the request when it is a valid id,
    else made, returned on every response (401s included) and in effect (``core.logctx``)
    while the request is served; and each request counted and timed for ``/metrics``. One
    wrapper of ``send`` for both: it runs for every chunk of a stream."""

    def __init__(self, app: ASGI, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # the labelled children, looked up once: labels() takes a lock and builds a tuple
        self._counted: dict[tuple[str, int], Any] = {}
        self._timed: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                try:
                    rid = logctx.check_request_id(value.decode("latin-1"))
                except InvalidRequest:
                    rid = None  # a bad id is replaced, not refused: the response names the new one
                break
        rid = rid or logctx.new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())
        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            with logctx.request_scope(rid):
                await self.app(scope, receive, sending)
        finally:
            self._count(_route_label(scope.get("path", "")), status, time.perf_counter() - started)

    def _count(self, route: str, status: int, seconds: float) -> None:
        counted = self._counted.get((route, status))
        if counted is None:
            counted = self._counted[route, status] = self.metrics.requests.labels(
                route, str(status)
            )
        counted.inc()
        timed = self._timed.get(route)
        if timed is None:
            timed = self._timed[route] = self.metrics.seconds.labels(route)
        timed.observe(seconds)
        if status in (401, 403):
            self.metrics.refused.labels("auth").inc()


class BodyCap:
    """A request body over ``limit`` bytes gets 413 (by Content-Length at once, or as soon
    as a chunked body passes it)."""

    def __init__(self, app: ASGI, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _error(413, f"the body is over {self.limit} bytes", "invalid_request_error")(
                    scope, receive, send
                )
                return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BadChatRequest(f"the body is over {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


class Limits:
    """Request-rate limits per key, tenant and client address (after the key is checked,
    so the key's principal and its own rpm are known): 429 and Retry-After when over."""

    def __init__(self, app: ASGI, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        state = scope.get("state") or {}
        if scope["type"] != "http" or "principal" not in state:
            await self.app(scope, receive, send)
            return
        caller = self.gateway.caller(scope)
        refusal = await self.gateway.limiter.admit(caller)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        self.gateway.metrics.refused.labels(f"rate_limit:{refusal.scope}").inc()
        response = _error(
            429,
            refusal.message(),
            "rate_limit_exceeded",
            code=f"{refusal.scope}_{refusal.kind}",
            headers={"Retry-After": str(refusal.retry_after_s)},
        )
        await response(scope, receive, send)


# ---- the gateway ----------------------------------------------------------------------


class RunBody(BaseModel):
    """``POST /v1/runs``: the fields of ``run_task`` (and of ``agenthost run``)."""

    model_config = ConfigDict(extra="forbid")

    task: str = ""
    agent: str | None = None
    role: str | None = None
    tools: list[str] = Field(default_factory=list)
    tier: str | None = None
    max_steps: int | None = Field(None, ge=1)
    max_input_tokens: int | None = Field(None, ge=1)
    max_output_tokens: int | None = Field(None, ge=1)
    max_cost_usd: float | None = Field(None, ge=0)
    max_seconds: float | None = Field(None, gt=0)
    prompt: str | None = None
    prompt_args: dict[str, str] = Field(default_factory=dict)
    resources: list[str] = Field(default_factory=list)


class _Call:
    """One model call's bookkeeping per stream event: its tokens metered against the
    budget, its usage and finish kept, and the delta (if any) the event adds to the reply."""

    __slots__ = ("events", "meter", "reply", "usage")

    def __init__(
        self, events: AsyncIterator[StreamEvent], meter: BudgetMeter, reply: Completion
    ) -> None:
        self.events = events
        self.meter = meter
        self.reply = reply
        self.usage: Usage | None = None

    def take(self, event: StreamEvent) -> dict[str, Any] | None:
        if type(event) is TextDelta:  # most events: a token
            self.meter.on_tokens(1)
            return self.reply.feed_text(event.text)
        if isinstance(event, Generated):
            self.meter.on_tokens(event.tokens)
        elif isinstance(event, UsageEvent):
            self.usage = event.usage
        elif isinstance(event, Finish):
            self.reply.finish = event.reason
        return self.reply.feed(event)


class CallRecorder:
    """Writes finished chat completions (a session row and its span each) after their
    responses, as many per transaction as have come since the last one (a busy gateway
    writes a few times a second, not once per completion).

    A network database (PostgreSQL) is written from a worker thread, so the loop serves
    requests while the write waits on the server. SQLite is written on the event loop, in
    transactions of at most ``FLUSH_ROWS`` with a checkpoint between them: the write is CPU
    work in this process either way (about 0.15 ms a row), and from a thread it took the
    GIL from the loop hundreds of times a transaction (sqlite3 lets go of it at every step),
    which cost the benchmark's chat completions 0.7 ms each at p50 where writing on the loop
    cost them nothing measurable."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self.pending: list[tuple[RunState, list[Span]]] = []
        self._wake = anyio.Event()
        self.in_thread = store.engine.dialect.name != "sqlite"

    def add(self, state: RunState, span: Span) -> None:
        self.pending.append((state, [span]))
        self._wake.set()

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                # gather for a moment: one transaction for all that come in it, so a busy
                # gateway writes a few times a second, not once per completion
                await anyio.sleep(BATCH_S)
                self._wake = anyio.Event()
                await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()  # the gateway is stopping: what came last is kept too

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            if self.in_thread:
                await anyio.to_thread.run_sync(self.store.record_finished, batch)
                return
            for i in range(0, len(batch), FLUSH_ROWS):
                self.store.record_finished(batch[i : i + FLUSH_ROWS])
                await anyio.lowlevel.checkpoint()  # requests that came meanwhile go first
        except Exception:  # a failed write loses usage rows, never the gateway
            log.exception("could not record %d chat completions", len(batch))


class Gateway:
    """What the routes share: the host (its store, router and tools), the keys, the limiter,
    the queue, the live runs and the metrics."""

    def __init__(self, settings: Settings, host: Host) -> None:
        self.settings = settings
        self.config = settings.gateway
        self.host = host
        self.keys = KeyStore(host.store.engine)
        self.events = EventStore(host.store.engine)
        self.limiter = RateLimiter(self.config.limits)
        self.queue = RequestQueue(self.config.queue)
        self.runs = RunManager(host, self.events, self.queue)
        self.metrics = Metrics()
        self.recorder = CallRecorder(host.store)
        self.screeners = anyio.CapacityLimiter(SCREEN_THREADS)  # for long prompts and replies

    # ---- who is asking ----------------------------------------------------------------

    def caller(self, scope: Scope) -> Caller:
        state = scope["state"]
        principal: Principal = state["principal"]
        return Caller(state["key_id"], principal.tenant, self._address(scope), state.get("key_rpm"))

    def _address(self, scope: Scope) -> str:
        if self.config.trust_forwarded_for:
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-for":
                    return str(value.decode("latin-1").split(",")[0].strip())
        client = scope.get("client")
        return str(client[0]) if client else "unknown"

    def priority(self, principal: Principal) -> int:
        return self.config.queue.priority(principal.tenant)

    def _worst_price(self, tier: str | None) -> Price:
        router = self.host.router
        return FREE if router is None else router.worst_price(tier)

    @property
    def tiers(self) -> tuple[str, ...]:
        router = self.host.router
        return () if router is None else tuple(router.tiers)

    # ---- the app ------------------------------------------------------------------------

    def app(self) -> ASGI:
        routes = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/runs", self.start_run, methods=["POST"]),
            Route("/v1/runs", self.list_runs, methods=["GET"]),
            Route("/v1/runs/{run_id}", self.get_run, methods=["GET"]),
            Route("/v1/runs/{run_id}/cancel", self.cancel_run, methods=["POST"]),
            Route("/v1/runs/{run_id}/events", self.run_events, methods=["GET"]),
        ]
        app: Any = Starlette(routes=routes, exception_handlers={Exception: self._crash})
        app = Limits(app, self)
        app = BearerAuth(app, self.keys, config=self.settings.auth)
        app = BodyCap(app, self.config.max_body_bytes)
        return Front(app, self.metrics)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, BadChatRequest):  # the body cap, raised while reading
            return _error(413, str(exc), "invalid_request_error")
        log.exception("internal error serving %s", request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}", "server_error")

    # ---- open routes -----------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        servers = {name: str(s.state.value) for name, s in self.host.servers.items()}
        return JSONResponse({"status": "ok", "servers": servers, "runs": len(self.runs.live)})

    async def prometheus(self, request: Request) -> Response:
        if not METRICS_ROLES & request.state.principal.roles:
            return _error(
                403, "metrics need a key with the metrics or admin role", "permission_error"
            )
        stats = self.queue.stats()
        self.metrics.queue_active.set(stats.active)
        self.metrics.queue_waiting.set(stats.waiting)
        self.metrics.runs_live.set(len(self.runs.live))
        return Response(self.metrics.render(), media_type=CONTENT_TYPE)

    async def models(self, request: Request) -> Response:
        ids = ["agenthost", *self.tiers]
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "agenthost"} for i in ids]
        return JSONResponse({"object": "list", "data": data})

    # ---- chat completions ---------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        try:
            body = parse_body(await request.body())
            chat = to_request(body, self.tiers)
        except BadChatRequest as exc:
            return _error(400, str(exc), "invalid_request_error", param=exc.param)
        full = self.queue.refusal()  # before the guardrails' and budgets' work, not after
        if full is not None:
            return self._queue_full(full)
        chat, verdict = await screen(self.host.guard, chat, principal.tenant, self.screeners)
        if verdict is not None:
            self.metrics.refused.labels("guardrails").inc()
            return _error(
                400, f"the request was blocked: {verdict.text}", "invalid_request_error",
                code="content_policy_violation",
            )  # fmt: skip
        state = RunState.new("(chat completion)", agent="chat", principal=principal)
        try:
            trace = trace_of(request.headers.get("traceparent"))
        except BadChatRequest as exc:
            return _error(400, str(exc), "invalid_request_error", param=exc.param)
        if trace is not None:
            state.trace_id, state.trace_parent = trace.trace_id, trace.parent_span_id
        span = Span(state.trace_id, "gateway", "chat.completions", parent_id=state.trace_parent)
        meter = self.host.meter_for(state)
        prompt = estimate_tokens(
            "".join(m.content for m in chat.messages)
            + json.dumps([t.parameters for t in chat.tools])
        )
        try:
            max_tokens, _ = meter.begin_call(prompt, self._worst_price(chat.tier), chat.max_tokens)
        except BudgetExceeded as exc:
            self.metrics.refused.labels("budget").inc()
            return _error(429, str(exc), "insufficient_quota", code="insufficient_quota")
        chat = chat.with_(max_tokens=max_tokens)
        slot = AsyncExitStack()
        try:
            await slot.enter_async_context(self.queue.slot(self.priority(principal)))
        except QueueFull as exc:
            meter.end_call(None)
            return self._queue_full(exc)
        reply = Completion(body.model or "agenthost")
        caller = self.caller(request.scope)
        record = BackgroundTask(self._record, state, span, caller, reply, request.state.request_id)
        if body.stream:
            stream = self._stream(chat, meter, reply, slot, body.include_usage)
            return EventStream(stream, headers=NO_CACHE, background=record)
        try:
            async with self._model_call(chat, meter, reply) as call:
                take = call.take
                async for event in call.events:
                    take(event)
        except AgentHostError as exc:
            return _error(503, str(exc), "server_error", code=type(exc).__name__)
        finally:
            await slot.aclose()
        if reply.text:  # a whole reply is checked before it leaves (a stream is not)
            out = await check(
                self.host.guard, reply.text, Source.OUTPUT, principal.tenant, self.screeners
            )
            if out.acted:
                span.attributes.update(span_attributes(out))
            reply.text = out.text
            if out.blocked:
                reply.finish, reply.calls = "content_filter", []
        return JSONResponse(reply.whole(), background=record)

    def _queue_full(self, exc: QueueFull) -> Response:
        self.metrics.refused.labels("queue_full").inc()
        return _error(
            503, str(exc), "server_error", code="queue_full",
            headers={"Retry-After": str(exc.retry_after_s)},
        )  # fmt: skip

    @asynccontextmanager
    async def _model_call(
        self, chat: ChatRequest, meter: BudgetMeter, reply: Completion
    ) -> AsyncIterator[_Call]:
        """The model's stream of ``chat``, metered as it comes (``_Call.take`` per event): a
        budget crossed mid-stream ends the reply there (finish_reason ``length``), the
        tokens counted. The caller iterates ``call.events`` itself: one async generator
        less between the model and the client for every token."""
        call = _Call(self.host.model.stream(chat), meter, reply)
        cut = True
        try:
            async with closing(call.events):
                yield call
            cut = False
        except BudgetExceeded:
            reply.finish = "length"
        finally:
            meter.end_call(call.usage, cut=cut)
            reply.usage = call.usage or Usage(
                input_tokens=meter.input_tokens, output_tokens=meter.output_tokens
            )

    async def _stream(
        self, chat: ChatRequest, meter: BudgetMeter, reply: Completion, slot: AsyncExitStack,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:  # fmt: skip
        try:
            yield reply.chunk({"role": "assistant", "content": ""})
            try:
                async with self._model_call(chat, meter, reply) as call:
                    take, chunk = call.take, reply.chunk
                    async for event in call.events:
                        delta = take(event)
                        if delta is not None:
                            yield chunk(delta)
            except AgentHostError as exc:  # after the headers: an error event, then the end
                yield (
                    b"data: " + json.dumps(error_body(str(exc), "server_error")).encode() + b"\n\n"
                )
                return
            yield reply.chunk({}, reply.finish)
            if include_usage:
                yield reply.chunk({}, usage=reply.usage_dict())
            yield DONE
        finally:
            with anyio.CancelScope(shield=True):
                await slot.aclose()

    async def _record(
        self, state: RunState, span: Span, caller: Caller, reply: Completion, request_id: str
    ) -> None:
        """After the response: the completion's usage counts against the caller's token
        rate and (as a session row of agent ``chat``, no prompt kept) its allowances; its
        span (who, the route, tokens, latency; never the text) joins the caller's trace."""
        usage = reply.usage or Usage()
        tokens = usage.input_tokens + usage.output_tokens
        self.metrics.tokens.labels(caller.tenant, "input").inc(usage.input_tokens)
        self.metrics.tokens.labels(caller.tenant, "output").inc(usage.output_tokens)
        await self.limiter.charge(caller, tokens)
        kind = OutcomeKind.BUDGET_EXHAUSTED if reply.finish == "length" else OutcomeKind.COMPLETED
        state.outcome = Outcome(kind)
        state.request_id = request_id
        state.spent = Spent(0, usage.input_tokens, usage.output_tokens, usage.cost_usd, 0.0)
        u = reply.usage
        span.finish(
            "ok" if reply.finish in ("stop", "length", "tool_calls") else "error",
            request_id=request_id, tenant=caller.tenant, user=state.principal.user,
            key=caller.key_id, backend=reply.backend, model=u.model if u else "",
            input_tokens=u.input_tokens if u else 0, output_tokens=u.output_tokens if u else 0,
            ttft_s=u.ttft_s if u else None, finish=reply.finish,
        )  # fmt: skip
        self.recorder.add(state, span)

    # ---- runs ---------------------------------------------------------------------------

    async def start_run(self, request: Request) -> Response:
        principal: Principal = request.state.principal
        try:
            body = RunBody.model_validate_json(await request.body())
        except ValidationError as exc:
            message, where = first_error(exc)
            return _error(400, message, "invalid_request_error", param=where)
        key = request.headers.get("idempotency-key")
        if key is not None:
            if not 1 <= len(key) <= 200:
                return _error(
                    400, "Idempotency-Key is 1 to 200 characters", "invalid_request_error"
                )
            known = await anyio.to_thread.run_sync(
                self.events.run_for_key, principal.tenant, principal.user, key
            )
            if known is not None:
                return JSONResponse(self._run_view(known, principal), 200)
        stats = self.queue.stats()
        if stats.active >= stats.slots and stats.waiting >= self.config.queue.max_waiting:
            self.metrics.refused.labels("queue_full").inc()
            return _error(503, "the request queue is full", "server_error", code="queue_full",
                          headers={"Retry-After": "5"})  # fmt: skip
        try:
            trace = trace_of(request.headers.get("traceparent"))
        except BadChatRequest as exc:
            return _error(400, str(exc), "invalid_request_error", param=exc.param)
        try:
            run = RunRequest(
                body.task,
                agent=body.agent,
                role=body.role,
                tools=tuple(body.tools),
                tier=body.tier,
                budget=Budget(
                    max_steps=body.max_steps,
                    max_input_tokens=body.max_input_tokens,
                    max_output_tokens=body.max_output_tokens,
                    max_cost_usd=body.max_cost_usd,
                    max_seconds=body.max_seconds,
                ),
                principal=principal,
                trace=trace,
                prompt=body.prompt,
                prompt_args=body.prompt_args,
                resources=tuple(body.resources),
                request_id=request.state.request_id,
            )
            session_id = await self.runs.start(run, self.priority(principal))
        except AgentHostError as exc:
            return _error(400, str(exc), "invalid_request_error")
        if key is not None:
            await anyio.to_thread.run_sync(
                self.events.keep_key, principal.tenant, principal.user, key, session_id
            )
        return JSONResponse(self._run_view(session_id, principal), 202)

    def _run_view(self, session_id: str, principal: Principal) -> dict[str, Any]:
        row = self.host.store.get(session_id, visible_to=principal)
        return {
            "id": row.id,
            "status": row.status,
            "task": row.task,
            "agent": row.agent,
            "steps": row.steps,
            "usage": {"input_tokens": row.input_tokens, "output_tokens": row.output_tokens},
            "cost_usd": row.cost_usd,
            "answer": row.answer,
            "outcome": row.outcome,
            "request_id": (row.options or {}).get("request_id"),
            "trace_id": row.trace_id,
            "created_at": row.created_at.isoformat(),
            "events": f"/v1/runs/{row.id}/events",
        }

    def _visible(self, request: Request) -> str | Response:
        """The run the path names, if the caller may see it; else a 404 exactly like an
        unknown id's (no telling another tenant's runs exist)."""
        from memory.sessions import SessionNotFound

        ref = request.path_params["run_id"]
        try:
            return self.host.store.get(ref, visible_to=request.state.principal).id
        except (SessionNotFound, InvalidRequest):
            return _error(404, f"no run {ref!r}", "invalid_request_error", code="run_not_found")

    async def list_runs(self, request: Request) -> Response:
        try:
            limit = min(max(int(request.query_params.get("limit", "20")), 1), 500)
        except ValueError:
            return _error(400, "limit must be a number", "invalid_request_error", param="limit")
        principal: Principal = request.state.principal
        rows = self.host.store.recent(limit=limit, visible_to=principal, agents=AGENT_KINDS)
        return JSONResponse({"data": [self._run_view(r.id, principal) for r in rows]})

    async def get_run(self, request: Request) -> Response:
        found = self._visible(request)
        if isinstance(found, Response):
            return found
        return JSONResponse(self._run_view(found, request.state.principal))

    async def cancel_run(self, request: Request) -> Response:
        found = self._visible(request)
        if isinstance(found, Response):
            return found
        if not await self.runs.cancel(found):
            status = self.host.store.get(found).status
            if status == "running":
                return _error(409, f"run {found} is served by another gateway process",
                              "invalid_request_error", code="not_here")  # fmt: skip
            return _error(409, f"run {found} is already {status}", "invalid_request_error",
                          code="not_running")  # fmt: skip
        return JSONResponse(self._run_view(found, request.state.principal))

    async def run_events(self, request: Request) -> Response:
        found = self._visible(request)
        if isinstance(found, Response):
            return found
        last = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        if not last.isdigit():
            return _error(400, "Last-Event-ID is an event id (a number)", "invalid_request_error")
        finished = found not in self.runs.live and self.host.store.get(found).status != "running"

        async def sse() -> AsyncIterator[bytes]:
            async for seq, kind, data in self.runs.follow(found, int(last), finished=finished):
                payload = json.dumps(data, separators=(",", ":"))
                yield f"id: {seq}\nevent: {kind}\ndata: {payload}\n\n".encode()

        return EventStream(sse(), headers=NO_CACHE)


def _route_label(path: str) -> str:
    """A path as a metrics label: run ids folded, so the label set stays small."""
    if path.startswith("/v1/runs/"):
        tail = path.removeprefix("/v1/runs/").split("/", 1)
        return "/v1/runs/{id}" + (f"/{tail[1]}" if len(tail) > 1 else "")
    if path in ("/healthz", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/runs"):
        return path
    return "other"


async def serve_gateway(
    settings: Settings, *, host: str | None = None, port: int | None = None
) -> None:
    """Start the host, then serve the gateway on ``host:port`` (default ``[gateway]``'s,
    loopback) until cancelled; runs in flight are then saved as cancelled."""
    from auth.http import serve_http
    from host.host import Host

    bind = host or settings.gateway.host
    where = port or settings.gateway.port
    async with Host(settings) as engine:
        gateway = Gateway(settings, engine)
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(gateway.runs.serve)
                await tg.start(gateway.recorder.run)
                await serve_http(gateway.app(), bind, where, on_stop=gateway.runs.cancel_all)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await gateway.limiter.aclose()
