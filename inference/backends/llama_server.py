"""The embedded model served by a supervised local ``llama_cpp.server`` process.

Same weights as the in-process backend, reached over the OpenAI-compatible HTTP API. Use it
to keep llama.cpp out of the host's process (a crash in native code then costs one restart,
not the host), or to share one model between several hosts on the machine.

The process is ``llama_cpp.server`` started through this module (``python -m
inference.backends.llama_server``), which adds one thing to it: a streamed request whose client
has gone aborts llama.cpp inside the decode it is in (the abort flag of the embedded backend).
The server by itself notices a closed connection only at its next chunk, so a call cut while
a long prompt was being evaluated kept the model busy, and the next call waiting, until the
whole prompt was done.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import anyio

from inference.backend import Health
from inference.backends.embedded import AbortFlag, resolve_model_path
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
            "inference.backends.llama_server",  # llama_cpp.server, cut on disconnect
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


ABORTED_LINE = "agenthost: client gone, llama.cpp decode aborted"  # in the server's log


def _abort_on_disconnect(app: Any) -> None:
    """Patch ``llama_cpp.server.app``: a streamed request cancelled by its client's disconnect
    (sse-starlette cancels the publisher) sets the model's abort flag, so the decode running
    in the server's worker thread stops; the publisher itself cannot return before it does.
    Only a request that holds the model does so, not one still queued for it."""
    flags: dict[int, AbortFlag] = {}
    prepare: Callable[..., Any] = app.prepare_request_resources
    publish: Callable[..., Any] = app.get_event_publisher
    holder: ContextVar[list[Any]] = ContextVar("holder")  # the request's model, once it has it

    def prepare_request_resources(*args: Any, **kwargs: Any) -> Any:
        llama = prepare(*args, **kwargs)  # called by the publisher, with the model's lock held
        flag = flags.get(id(llama))
        if flag is None:
            flag = flags[id(llama)] = AbortFlag()
            flag.install(llama)
        flag.clear()
        with contextlib.suppress(LookupError):  # not a streamed request
            holder.get().append(llama)
        return llama

    async def get_event_publisher(*args: Any, **kwargs: Any) -> None:
        mine: list[Any] = []
        finished = False

        def aborted() -> bool:
            return bool(mine) and flags[id(mine[0])].is_set()

        async def abort_when_cancelled() -> None:
            try:
                await anyio.sleep_forever()
            finally:
                if mine and not finished:
                    flags[id(mine[0])].set()

        holder.set(mine)
        async with anyio.create_task_group() as tg:
            tg.start_soon(abort_when_cancelled)
            try:
                await publish(*args, **kwargs)
            except RuntimeError:  # "llama_decode returned 2": the abort, for a client gone
                if not aborted():
                    raise
                print(ABORTED_LINE, file=sys.stderr, flush=True)
            finally:
                finished = True
                if aborted():  # the logits of an aborted decode are not the last token's
                    mine[0]._requires_eval = True
                tg.cancel_scope.cancel()

    app.prepare_request_resources = prepare_request_resources
    app.get_event_publisher = get_event_publisher


def main() -> None:
    """``python -m inference.backends.llama_server``: ``llama_cpp.server`` with the same
    arguments, cut inside a decode when a streaming client disconnects."""
    import llama_cpp.server.app as app
    from llama_cpp.server.__main__ import main as serve

    _abort_on_disconnect(app)
    serve()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
