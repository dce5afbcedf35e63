"""SGLang: the GPU serving path.

Chat goes through SGLang's OpenAI-compatible API (shared with ``OpenAICompatBackend``); on
top of it this backend adds what SGLang has and plain OpenAI servers lack:

- launching ``python -m sglang.launch_server`` from config and waiting for ``/health``;
- EBNF-constrained decoding (the ``ebnf`` request field) besides JSON schema;
- ``/metrics`` (Prometheus text), read for prefix-cache hit rate and token counters;
- the native ``/generate`` endpoint for raw-prompt completion.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from inference.backend import Capabilities, Health
from inference.backends.openai_compat import OpenAICompatBackend
from inference.config import SGLangConfig
from inference.errors import BackendResponseError, BackendUnavailable
from inference.process import ServerProcess
from inference.types import ChatRequest, Grammar, StreamEvent


class SGLangBackend(OpenAICompatBackend):
    def __init__(
        self,
        name: str,
        cfg: SGLangConfig,
        *,
        log_dir: Path,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if cfg.launch is not None:
            root = f"http://{cfg.launch.host}:{cfg.launch.port}"
        else:
            assert cfg.base_url is not None  # the config validator guarantees one of the two
            root = cfg.base_url.rstrip("/").removesuffix("/v1")
        super().__init__(
            name,
            base_url=f"{root}/v1",
            model=cfg.model,
            api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
            tool_mode=cfg.tool_mode,
            schema_style="openai",
            timeouts=cfg.timeouts,
            max_args_bytes=cfg.max_args_bytes,
            transport=transport,
        )
        self.root = root
        self.capabilities = Capabilities(
            native_tools=cfg.tool_mode == "native", json_schema=True, grammar=True
        )
        self.server: ServerProcess | None = None
        if cfg.launch is not None:
            launch = cfg.launch
            argv = [
                launch.python,
                "-m",
                "sglang.launch_server",
                "--model-path",
                launch.model_path,
                "--host",
                launch.host,
                "--port",
                str(launch.port),
                *launch.args,
            ]
            self.server = ServerProcess(
                name,
                argv,
                f"{root}/health",
                log_path=log_dir / f"{name}.log",
                startup_timeout_s=launch.startup_timeout_s,
            )

    async def ensure_started(self) -> None:
        # start() returns at once when running and makes concurrent first callers wait for
        # one start-up, so no "running" pre-check here (it would let them past too early).
        if self.server is not None:
            await self.server.start()

    def grammar_fields(self, grammar: Grammar) -> dict[str, Any]:
        if grammar.dialect != "ebnf":
            raise BackendResponseError(self.name, "SGLang takes EBNF grammars, not GBNF", 400)
        return {"ebnf": grammar.text}

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        await self.ensure_started()
        async for event in super().stream(request):
            yield event

    async def health(self) -> Health:
        try:
            await self.ensure_started()
        except BackendUnavailable as exc:
            return Health(False, str(exc))
        try:
            resp = await self._client.get(f"{self.root}/health")
        except httpx.HTTPError as exc:
            return Health(False, f"unreachable: {exc!r}")
        if resp.status_code != 200:
            return Health(False, f"HTTP {resp.status_code} from /health")
        models = await super().health()
        return Health(models.ok, f"sglang; {models.detail}", models.model, models.latency_s)

    # ---- what SGLang adds ----------------------------------------------------------

    async def generate(self, text: str, **sampling_params: Any) -> Generated:
        """Raw-prompt completion through SGLang's native ``/generate``.

        ``sampling_params`` are SGLang's: max_new_tokens, temperature, top_p, stop,
        json_schema, regex, ebnf, ...
        """
        await self.ensure_started()
        payload = {"text": text, "sampling_params": sampling_params}
        resp = await self._native("POST", "/generate", json=payload)
        try:
            body = resp.json()
            meta = body.get("meta_info") or {}
            finish = meta.get("finish_reason") or {}
            return Generated(
                text=str(body["text"]),
                # SGLang reports finish_reason as an object: {"type": "stop"|"length"|"abort"}.
                finish_reason=str(finish.get("type") if isinstance(finish, dict) else finish),
                prompt_tokens=int(meta.get("prompt_tokens") or 0),
                completion_tokens=int(meta.get("completion_tokens") or 0),
                cached_tokens=int(meta.get("cached_tokens") or 0),
                raw=body,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackendResponseError(self.name, f"unexpected /generate reply: {exc!r}") from exc

    async def metrics(self) -> list[Sample]:
        """SGLang's Prometheus samples (the server needs ``--enable-metrics``)."""
        resp = await self._native("GET", "/metrics", hint=" (start SGLang with --enable-metrics)")
        return parse_prometheus(resp.text, prefix="sglang:")

    async def _native(
        self, method: str, path: str, *, hint: str = "", **kwargs: Any
    ) -> httpx.Response:
        """Call one of SGLang's own endpoints; failures become typed backend errors."""
        try:
            resp = await self._client.request(method, f"{self.root}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(self.name, f"{path} failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise BackendResponseError(
                self.name,
                f"HTTP {resp.status_code} from {path}{hint}: {resp.text[:300]}",
                resp.status_code,
            )
        return resp

    async def prefix_cache_hit_rate(self) -> float | None:
        """Share of prompt tokens served from the radix (prefix) cache since the server
        started, from the token counters; None before any prompt was served."""
        samples = await self.metrics()
        prompt = counter_total(samples, "sglang:prompt_tokens_total")
        cached = counter_total(samples, "sglang:cached_tokens_total")
        if prompt:
            return cached / prompt
        return None


@dataclass(frozen=True)
class Generated:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    raw: dict[str, Any]


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def counter_total(samples: list[Sample], name: str) -> float:
    """A counter summed over its label sets.

    Newer SGLang splits cached tokens by ``cache_source`` (device, host, storage_*) and may
    add a ``total`` series; when it does, that series alone is the total.
    """
    series = [s for s in samples if s.name == name]
    totals = [s for s in series if s.labels.get("cache_source") == "total"]
    return sum(s.value for s in (totals or series))


def parse_prometheus(text: str, prefix: str = "") -> list[Sample]:
    """The samples of a Prometheus text exposition whose names start with ``prefix``."""
    out: list[Sample] = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or not m["name"].startswith(prefix):
            continue
        try:
            value = float(m["value"])
        except ValueError:
            continue
        labels = dict(_LABEL.findall(m["labels"] or ""))
        out.append(Sample(m["name"], labels, value))
    return out


_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)"
)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
