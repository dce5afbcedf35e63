"""Any OpenAI-compatible chat server over HTTP (llama.cpp server, vLLM, SGLang, hosted APIs)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from inference.backend import Capabilities, Health
from inference.config import OpenAIConfig, Timeouts
from inference.errors import (
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
)
from inference.openai_wire import (
    ChunkAssembler,
    Plan,
    SchemaStyle,
    ToolMode,
    plan_request,
    response_format,
)
from inference.types import (
    ChatRequest,
    Finish,
    Grammar,
    JsonSchema,
    StreamEvent,
    Usage,
    UsageEvent,
)


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
        tool_mode: ToolMode = "native",
        schema_style: SchemaStyle = "openai",
        usage_in_stream: bool = True,
        timeouts: Timeouts | None = None,
        max_args_bytes: int = 64 * 1024,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.tool_mode: ToolMode = tool_mode
        self.schema_style: SchemaStyle = schema_style
        self.usage_in_stream = usage_in_stream
        self.max_args_bytes = max_args_bytes
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
        return {"response_format": response_format(schema, self.schema_style)}

    def grammar_fields(self, grammar: Grammar) -> dict[str, Any]:
        """Request fields for a grammar constraint; servers differ, so subclasses override."""
        return {"grammar": grammar.text}

    # ---- streaming -----------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        plan = plan_request(request, self.tool_mode)
        asm = ChunkAssembler(request.tools, plan.json_tools, self.max_args_bytes)
        url = f"{self.base_url}/chat/completions"
        try:
            async with self._client.stream("POST", url, json=self.payload(request, plan)) as resp:
                if resp.status_code >= 400:
                    body = (await resp.aread()).decode(errors="replace")
                    raise BackendResponseError(
                        self.name,
                        f"HTTP {resp.status_code} from {url}: {body[:300]}",
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
                    for event in asm.feed(chunk):
                        yield event
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
        for event in asm.finish():
            yield event
        yield UsageEvent(self._usage(asm))
        yield Finish(asm.finish_reason)

    def _usage(self, asm: ChunkAssembler) -> Usage:
        u = asm.usage or {}
        details = u.get("prompt_tokens_details") or {}
        return Usage(
            input_tokens=int(u.get("prompt_tokens") or 0),
            output_tokens=int(u.get("completion_tokens") or asm.content_chunks),
            model=self.model,
            model_version=asm.model or self._server_model_version or "",
            backend=self.name,
            estimated=not u,
            cached_tokens=details.get("cached_tokens"),
        )

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
        return Health(True, f"{len(ids)} model(s)", ids[0] if ids else "", latency)

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
