"""Any OpenAI-compatible chat server over HTTP (llama.cpp server, vLLM, SGLang, TGI, hosted APIs).

Servers differ in what they honour, and many accept a field and ignore it. With ``tool_mode``
and ``schema_style`` at ``"auto"`` (the default) the backend asks the server once, on the first
request that needs it, with small probe requests whose replies show whether the feature
worked, and keeps the answer for the backend's lifetime:

1. native tools: one tool offered with ``tool_choice="required"``; tool_calls must come back;
2. else tool calls as constrained JSON in the text, with the first ``response_format`` that
   constrains the reply: ``json_schema`` (OpenAI), ``json_object`` + ``schema`` (llama.cpp),
   bare ``json_object`` (the schema then only in the prompt).

A refusal (HTTP 4xx/5xx, a reply that ignores the field) moves on to the next mode. A server
that can do none gets no request with tools: ``UnsupportedByServer`` says why, and the router
falls back to the tier's next backend. Input tokens come from the server's ``usage``, else its
tokenizer endpoint (llama_cpp.server's ``/extras/tokenize/count``, llama.cpp's and vLLM's
``/tokenize``), else an estimate of four characters a token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
import httpx

from inference.backend import Capabilities, Health
from inference.config import OpenAIConfig, Timeouts
from inference.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
)
from inference.openai_wire import (
    PROBE_JSON,
    PROBE_TOOLS,
    STYLE_FIELD,
    STYLES,
    ChunkAssembler,
    Plan,
    SchemaStyle,
    SchemaStyleSetting,
    TokenSource,
    ToolMode,
    ToolModeSetting,
    WireModes,
    estimate_tokens,
    off_schema,
    one_line,
    plan_request,
    prompt_text,
    response_format,
)
from inference.types import (
    ChatRequest,
    ChatResult,
    Finish,
    Grammar,
    JsonSchema,
    StreamEvent,
    Usage,
    UsageEvent,
)

log = logging.getLogger("agenthost.inference")

# A server that is busy or restarting says nothing about what it supports: decide later.
_TRANSIENT = {408, 429, 502, 503, 504}


class UnsupportedByServer(BackendResponseError):
    """The server cannot do what the request needs (tools, a JSON schema): no retry helps."""

    @property
    def retryable(self) -> bool:
        return False


class _Refused(Exception):
    """A probe the server answered with a refusal."""


class OpenAICompatBackend:
    """Streams chat completions from ``{base_url}/chat/completions``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        tool_mode: ToolModeSetting = "auto",
        schema_style: SchemaStyleSetting = "auto",
        usage_in_stream: bool = True,
        timeouts: Timeouts | None = None,
        max_args_bytes: int = 64 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.root = self.base_url.removesuffix("/v1")
        self.tool_mode: ToolModeSetting = tool_mode
        self.schema_style: SchemaStyleSetting = schema_style
        self.usage_in_stream = usage_in_stream
        self.max_args_bytes = max_args_bytes
        self.modes = WireModes(
            tool_mode=None if tool_mode == "auto" else tool_mode,
            schema_style=None if schema_style == "auto" else schema_style,
        )
        # A subclass that puts schemas on the wire itself (a grammar) has no style to probe.
        own_schema_fields = type(self).schema_fields is not OpenAICompatBackend.schema_fields
        self._probe_styles = schema_style == "auto" and not own_schema_fields
        self._styles_probed = False
        self._tools_refused: str | None = None
        self._probe_lock = anyio.Lock()
        self._tokenizer: TokenSource | None = None  # None: not tried yet
        self.capabilities = Capabilities(native_tools=tool_mode == "native", json_schema=True)
        t = timeouts or Timeouts()
        hdrs = dict(headers or {})
        if api_key:
            hdrs["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=hdrs,
            timeout=httpx.Timeout(
                connect=t.connect_s, read=t.idle_s, write=t.idle_s, pool=t.connect_s
            ),
            transport=transport,
        )
        self._server_model_version: str | None = None

    @classmethod
    def from_config(cls, name: str, cfg: OpenAIConfig) -> OpenAICompatBackend:
        return cls(
            name,
            base_url=cfg.base_url,
            model=cfg.model,
            api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
            headers=cfg.headers,
            tool_mode=cfg.tool_mode,
            schema_style=cfg.schema_style,
            usage_in_stream=cfg.usage_in_stream,
            timeouts=cfg.timeouts,
            max_args_bytes=cfg.max_args_bytes,
        )

    # ---- the request ---------------------------------------------------------------

    def payload(self, request: ChatRequest, plan: Plan) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": plan.messages,
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if self.usage_in_stream:
            body["stream_options"] = {"include_usage": True}
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if plan.tools:
            body["tools"] = plan.tools
            body["tool_choice"] = request.tool_choice
        if plan.schema is not None:
            body.update(self.schema_fields(plan.schema))
        if isinstance(request.constraint, Grammar):
            body.update(self.grammar_fields(request.constraint))
        return body

    def schema_fields(self, schema: JsonSchema) -> dict[str, Any]:
        """Request fields for a JSON-schema constraint; servers differ, so subclasses override."""
        return {"response_format": response_format(schema, self.modes.schema_style or "openai")}

    def grammar_fields(self, grammar: Grammar) -> dict[str, Any]:
        """Request fields for a grammar constraint; servers differ, so subclasses override."""
        return {"grammar": grammar.text}

    # ---- streaming -----------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        plan = plan_request(request, await self._tool_mode_for(request))
        if plan.schema is not None:
            await self._ensure_schema_style()
        asm = ChunkAssembler(request.tools, plan.json_tools, self.max_args_bytes)
        async for chunk in self._chunks(self.payload(request, plan)):
            for event in asm.feed(chunk):
                yield event
        for event in asm.finish():
            yield event
        yield UsageEvent(await self._usage(asm, plan))
        yield Finish(asm.finish_reason)

    async def _chunks(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST one chat completion and yield its chunks; failures become typed errors."""
        url = f"{self.base_url}/chat/completions"
        try:
            async with self._client.stream("POST", url, json=body) as resp:
                if resp.status_code >= 400:
                    text = (await resp.aread()).decode(errors="replace")
                    raise BackendResponseError(
                        self.name,
                        f"HTTP {resp.status_code} from {url}: {text[:300]}",
                        resp.status_code,
                    )
                async for data in _sse_data(resp):
                    if data == "[DONE]":
                        break
                    try:
                        chunk = json.loads(data)
                    except json.JSONDecodeError as exc:
                        raise BackendResponseError(
                            self.name, f"server sent a chunk that is not JSON: {data[:200]!r}"
                        ) from exc
                    if "error" in chunk:
                        raise BackendResponseError(self.name, f"server error: {chunk['error']}")
                    yield chunk
        except httpx.ConnectError as exc:
            raise BackendUnavailable(
                self.name, f"cannot connect to {self.base_url} ({exc})"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout(
                self.name, f"no answer from {self.base_url} in time ({exc!r})"
            ) from exc
        except httpx.TransportError as exc:
            raise BackendUnavailable(
                self.name, f"connection to {self.base_url} failed ({exc!r})"
            ) from exc

    # ---- what the server supports, probed once -------------------------------------

    async def _tool_mode_for(self, request: ChatRequest) -> ToolMode:
        if not request.tools or request.tool_choice == "none":
            return "native"  # no tools on the wire: the mode does not matter
        if self.modes.tool_mode is None and self._tools_refused is None:
            async with self._probe_lock:
                if self.modes.tool_mode is None and self._tools_refused is None:
                    await self._probe_tools()
        if self._tools_refused is not None:
            raise UnsupportedByServer(self.name, self._tools_refused)
        assert self.modes.tool_mode is not None
        return self.modes.tool_mode

    async def _ensure_schema_style(self) -> None:
        if self._probe_styles and not self._styles_probed:
            async with self._probe_lock:
                if not self._styles_probed:
                    self.modes.notes += await self._probe_schema_styles()
        if self._probe_styles and self.modes.schema_style is None:
            raise UnsupportedByServer(
                self.name,
                f"{self.base_url} cannot constrain a reply to a JSON schema: "
                f"{'; '.join(self.modes.notes)}",
            )

    async def _probe_tools(self) -> None:
        try:
            found = await self._probe(PROBE_TOOLS, "native", None)
            if found.tool_calls or found.tool_errors:
                self.modes.tool_mode = "native"
                self.capabilities = replace(self.capabilities, native_tools=True)
                log.info("%s: the server returns tool_calls: tools go native", self.name)
                return
            why = "no tool_calls came back for tool_choice=required"
        except _Refused as exc:
            why = str(exc)
        styles = await self._probe_schema_styles() if not self._styles_probed else []
        self.modes.notes += [f"native tools: {why}", *styles]
        if self._probe_styles and self.modes.schema_style is None:
            self._tools_refused = (
                f"{self.base_url} takes no tools: {'; '.join(self.modes.notes)}. Set tool_mode"
                ' = "native" if the server has a tool-call parser, or send requests with tools'
                " to another tier (inference.router.tools_tier)"
            )
            log.info("%s: %s", self.name, self._tools_refused)
            return
        self.modes.tool_mode = "json"
        log.info("%s: tools go as JSON in the text (%s)", self.name, self.modes.describe())

    async def _probe_schema_styles(self) -> list[str]:
        """Find the first response_format the server applies; return why the others failed.

        Only a finished probe is kept: a busy server's error or a cancellation leaves it to
        be run again on the next request."""
        if not self._probe_styles:
            return []
        notes: list[str] = []
        for style in STYLES:
            try:
                found = await self._probe(PROBE_JSON, "native", style)
                why = off_schema(found.text, strict=style != "json_object")
            except _Refused as exc:
                why = str(exc)
            if not why:
                self.modes.schema_style = style
                log.info("%s: JSON schemas go as response_format %s", self.name, style)
                break
            notes.append(f"response_format {STYLE_FIELD[style]}: {why}")
        self._styles_probed = True
        return notes

    async def _probe(
        self, request: ChatRequest, mode: ToolMode, style: SchemaStyle | None
    ) -> ChatResult:
        """Send one probe request and collect it; ``_Refused`` when the server said no."""
        plan = plan_request(request, mode)
        body = self.payload(request, replace(plan, schema=None))
        if style is not None and plan.schema is not None:
            body["response_format"] = response_format(plan.schema, style)
        asm = ChunkAssembler(request.tools, plan.json_tools, self.max_args_bytes)
        result = ChatResult()
        try:
            async for chunk in self._chunks(body):
                for event in asm.feed(chunk):
                    result.add(event)
        except BackendResponseError as exc:
            if exc.status in _TRANSIENT:
                raise
            raise _Refused(one_line(str(exc).removeprefix(f"{self.name}: "))) from exc
        for event in asm.finish():
            result.add(event)
        return result

    # ---- usage ---------------------------------------------------------------------

    async def _usage(self, asm: ChunkAssembler, plan: Plan) -> Usage:
        u = asm.usage or {}
        details = u.get("prompt_tokens_details") or {}
        source: TokenSource = "usage"
        input_tokens = int(u.get("prompt_tokens") or 0)
        if not input_tokens:
            input_tokens, source = await self._count_tokens(prompt_text(plan))
        self.modes.input_tokens = source
        return Usage(
            input_tokens=input_tokens,
            output_tokens=int(u.get("completion_tokens") or asm.content_chunks),
            model=self.model,
            model_version=asm.model or self._server_model_version or "",
            backend=self.name,
            estimated=source != "usage" or not u.get("completion_tokens"),
            cached_tokens=details.get("cached_tokens"),
        )

    async def _count_tokens(self, text: str) -> tuple[int, TokenSource]:
        """The server's own count of ``text`` where it has an endpoint for it, else chars/4."""
        tried: tuple[TokenSource, ...] = ("/extras/tokenize/count", "/tokenize")
        if self._tokenizer is not None:
            tried = (self._tokenizer,) if self._tokenizer != "chars/4" else ()
        for path in tried:
            try:
                n = await self._tokenize(path, text)
            except httpx.HTTPError:
                return estimate_tokens(text), "chars/4"  # this time; the endpoint may be fine
            if n is not None:
                self._tokenizer = path
                return n, path
        self._tokenizer = "chars/4"
        return estimate_tokens(text), "chars/4"

    async def _tokenize(self, path: str, text: str) -> int | None:
        # llama_cpp.server reads "input"; llama.cpp's server "content", vLLM's "prompt".
        body = {"input": text} if path.startswith("/extras") else {"content": text, "prompt": text}
        resp = await self._client.post(f"{self.root}{path}", json=body)
        if resp.status_code != 200:
            return None
        try:
            reply = resp.json()
        except ValueError:
            return None
        if not isinstance(reply, dict):
            return None
        if isinstance(reply.get("count"), int):
            return int(reply["count"])
        tokens = reply.get("tokens")
        return len(tokens) if isinstance(tokens, list) else None

    # ---- lifecycle -----------------------------------------------------------------

    async def health(self) -> Health:
        start = time.perf_counter()
        try:
            resp = await self._client.get(f"{self.base_url}/models")
        except httpx.HTTPError as exc:
            return Health(False, f"unreachable: {exc!r}")
        latency = time.perf_counter() - start
        if resp.status_code != 200:
            return Health(False, f"HTTP {resp.status_code} from /models", latency_s=latency)
        try:
            ids = [m.get("id", "") for m in resp.json().get("data", [])]
        except (ValueError, AttributeError):
            return Health(False, "/models did not return JSON", latency_s=latency)
        self._server_model_version = ids[0] if ids else None
        detail = "; ".join(filter(None, [f"{len(ids)} model(s)", self.modes.describe()]))
        return Health(True, detail, ids[0] if ids else "", latency)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _sse_data(resp: httpx.Response) -> AsyncIterator[str]:
    """The ``data:`` payloads of a server-sent-event stream, multi-line events joined."""
    lines: list[str] = []
    async for line in resp.aiter_lines():
        if not line:
            if lines:
                yield "\n".join(lines)
                lines = []
            continue
        if line.startswith("data:"):
            lines.append(line[5:].lstrip())
    if lines:
        yield "\n".join(lines)
