"""The embedded model served by a supervised local ``llama_cpp.server`` process.

Same weights as the in-process backend, reached over the OpenAI-compatible HTTP API. Use it
to keep llama.cpp out of the host's process (a crash in native code then costs one restart,
not the host), or to share one model between several hosts on the machine.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from inference.backend import Health
from inference.backends.embedded import resolve_model_path
from inference.backends.openai_compat import OpenAICompatBackend
from inference.config import EmbeddedConfig
from inference.errors import BackendUnavailable
from inference.grammar import gbnf_for_schema
from inference.process import ServerProcess, free_port
from inference.types import ChatRequest, JsonSchema, StreamEvent


class LlamaServerBackend(OpenAICompatBackend):
    def __init__(self, name: str, cfg: EmbeddedConfig, *, log_dir: Path) -> None:
        path = resolve_model_path(cfg)
        port = cfg.port or free_port()
        root = f"http://127.0.0.1:{port}"
        super().__init__(
            name,
            base_url=f"{root}/v1",
            model=cfg.model or path.stem,
            tool_mode="json",  # llama.cpp's tool parsers need a matching chat format
            usage_in_stream=False,
            timeouts=cfg.timeouts,
            max_args_bytes=cfg.max_args_bytes,
        )
        argv = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--model_alias",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(cfg.n_ctx),
            "--seed",
            str(cfg.seed),
            # By default the server aborts a running generation when another request
            # arrives, and the first caller gets an empty "stop". Queue them instead.
            "--interrupt_requests",
            "False",
        ]
        if cfg.n_threads:
            argv += ["--n_threads", str(cfg.n_threads), "--n_threads_batch", str(cfg.n_threads)]
        self.server = ServerProcess(
            name,
            argv,
            f"{root}/v1/models",
            log_path=log_dir / f"{name}.log",
            startup_timeout_s=cfg.timeouts.first_token_s,
        )

    def schema_fields(self, schema: JsonSchema) -> dict[str, Any]:
        # Send our own grammar rather than response_format: the server would compile the
        # schema with the converter that lets newlines into strings (see inference.grammar).
        return {"grammar": gbnf_for_schema(schema.schema)}

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        await self.server.start()
        async for event in super().stream(request):
            yield event

    async def health(self) -> Health:
        try:
            await self.server.start()
        except BackendUnavailable as exc:
            return Health(False, str(exc))
        return await super().health()

    async def aclose(self) -> None:
        await super().aclose()
        await self.server.stop()
