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
from pathlib import Path
from typing import Any

import httpx

from inference.backend import Capabilities, Health
from inference.backends.openai_compat import OpenAICompatBackend
from inference.config import SGLangConfig
from inference.errors import BackendResponseError, BackendUnavailable
from inference.process import ManagedServer
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
        self.server: ManagedServer | None = None
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
            self.server = ManagedServer(
                name,
                argv,
                f"{root}/health",
                log_path=log_dir / f"{name}.log",
                startup_timeout_s=launch.startup_timeout_s,
            )

    async def ensure_started(self) -> None:
        if self.server is not None and not self.server.running:
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

    async def generate(self, text: str, **sampling_params: Any) -> dict[str, Any]:
        """Raw-prompt completion through SGLang's native ``/generate``."""
        await self.ensure_started()
        try:
            resp = await self._client.post(
                f"{self.root}/generate", json={"text": text, "sampling_params": sampling_params}
            )
        except httpx.HTTPError as exc:
            raise BackendUnavailable(self.name, f"/generate failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise BackendResponseError(
                self.name,
                f"HTTP {resp.status_code} from /generate: {resp.text[:300]}",
                resp.status_code,
            )
        out: dict[str, Any] = resp.json()
        return out

    async def metrics(self) -> dict[str, float]:
        """SGLang's Prometheus metrics (needs ``--enable-metrics``), summed over labels."""
        try:
            resp = await self._client.get(f"{self.root}/metrics")
        except httpx.HTTPError as exc:
            raise BackendUnavailable(self.name, f"/metrics failed: {exc!r}") from exc
        if resp.status_code != 200:
            raise BackendResponseError(
                self.name,
                f"HTTP {resp.status_code} from /metrics (start SGLang with --enable-metrics)",
                resp.status_code,
            )
        return parse_prometheus(resp.text, prefix="sglang:")

    async def prefix_cache_hit_rate(self) -> float | None:
        """Share of prompt tokens served from the radix (prefix) cache since start."""
        m = await self.metrics()
        prompt = m.get("sglang:prompt_tokens_total")
        cached = m.get("sglang:cached_tokens_total")
        if prompt and cached is not None:
            return cached / prompt
        return m.get("sglang:cache_hit_rate")


def parse_prometheus(text: str, prefix: str = "") -> dict[str, float]:
    """Prometheus text format → {metric name: value summed over label sets}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None or not m["name"].startswith(prefix):
            continue
        try:
            out[m["name"]] = out.get(m["name"], 0.0) + float(m["value"])
        except ValueError:
            continue
    return out


_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(?P<value>\S+)")
