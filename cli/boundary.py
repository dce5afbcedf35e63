"""The one error boundary of the ``agenthost`` command line, and what every command shares.

Every command of an ``App`` runs inside ``boundary()``: foreign errors a user can cause (a
non-UTF-8 file, bad TOML, a missing file) become ``ConfigError`` through ``map_errors``; any
``AgentHostError`` becomes one line on stderr, ``error: ...``, and its category's exit code
(``core.errors.EXIT_CODES``); Ctrl-C becomes ``interrupted`` and 130. Tracebacks only with
``--debug``. Async work runs through ``run_async``, which unwraps exception groups and gives
Ctrl-C its two steps: the first cancels the command's task (a run saves itself as cancelled),
a second stops at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import anyio
import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException
from typer.models import CommandFunctionType

from core import logctx
from core.errors import INTERRUPTED, AgentHostError, ConfigError, exit_code_of, map_errors
from settings import Settings, load_settings

T = TypeVar("T")
P = ParamSpec("P")

err = Console(stderr=True, highlight=False)


class Options:
    """The global options (``--config``, ``--debug``), set by the root app's callback."""

    config: Path | None = None
    debug: bool = False


options = Options()


class BadArgument(ConfigError):
    """A command-line argument cannot be used as given."""


# every format names the request (core.logctx); its filter is on the handlers settings() makes
STDERR_FORMAT = "%(levelname)s %(name)s [%(request_id)s]: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def settings(*, log_file: str | None = None) -> Settings:
    """The effective settings (``--config``, ``agenthost.toml``, ``AGENTHOST_*``), with logging
    set up (to stderr, or to ``log_file`` in the logs folder) and the home directory created.
    Every line names the request it was logged in (``-`` outside one: ``core.logctx``)."""
    loaded = load_settings(options.config)
    level = "DEBUG" if options.debug else loaded.log_level.upper()
    loaded.ensure_home()
    if log_file is None:
        logging.basicConfig(level=level, format=STDERR_FORMAT)
    else:
        logging.basicConfig(level=level, filename=loaded.logs_dir / log_file, format=FILE_FORMAT)
    # on the handlers, so records of every logger (third parties' too) get the attribute
    logctx.install()
    if loaded.guardrails.enabled:  # and lose their secrets and personal data first
        from guardrails import Guard, scrub

        scrub.install(Guard(loaded.guardrails, environ=os.environ))
    return loaded


def one_line(text: str) -> str:
    return " ".join(text.split())


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    err.print(f"[red]error:[/] {escape(one_line(message))}", soft_wrap=True)
    raise typer.Exit(code)


def interrupted() -> NoReturn:
    err.print("[yellow]interrupted[/]")
    raise typer.Exit(INTERRUPTED)


@contextmanager
def boundary() -> Iterator[None]:
    """Where every command's errors end: one line and an exit code (see the module doc)."""
    try:
        with map_errors():
            yield
    except (typer.Exit, typer.Abort, TyperException):
        raise  # a command's typer.Exit, or a usage error: already decided
    except KeyboardInterrupt:
        interrupted()
    except AgentHostError as exc:
        if options.debug:
            raise
        fail(str(exc), exit_code_of(exc))
    except Exception as exc:  # a bug: its traceback is for --debug
        if options.debug:
            raise
        fail(
            f"internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)",
            AgentHostError.exit_code,
        )


def guard(fn: Callable[P, T]) -> Callable[P, T]:
    """``fn`` run inside ``boundary()`` (``App`` does this to every command)."""

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        with boundary():
            return fn(*args, **kwargs)
        raise AssertionError("unreachable: boundary() swallows nothing")

    return guarded


class App(typer.Typer):
    """A ``typer.Typer`` whose every command runs inside the error boundary."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """``Typer.command``, with the command wrapped in ``guard``."""
        register = super().command(*args, **kwargs)

        def decorator(fn: CommandFunctionType) -> CommandFunctionType:
            register(guard(fn))
            return fn

        return decorator


def run_async(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a command's async work to its result (inside a command's boundary).

    Ctrl-C cancels the work's task, so a run in progress saves itself as cancelled; a second
    Ctrl-C stops at once. Either way the command exits 130, even when the cancellation was
    absorbed on its way out (the work then finished, but the user asked to stop). An exception
    group out of the work is unwrapped to the one error inside it."""
    interrupts = 0

    async def main() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_sigint() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1 or task is None:
                raise KeyboardInterrupt
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
            return await fn()
        try:
            return await fn()
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        result = anyio.run(main)
    except BaseExceptionGroup as group:
        leaf = _single(group)
        if interrupts and isinstance(leaf, asyncio.CancelledError | KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise leaf from None
    except asyncio.CancelledError:
        if not interrupts:
            raise
        raise KeyboardInterrupt from None
    if interrupts:
        raise KeyboardInterrupt
    return result


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error inside nested exception groups (cancellations aside), the first
    agenthost error when there are several, else the group itself."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    errors = [e for e in leaves if not isinstance(e, asyncio.CancelledError)]
    if not errors:
        return leaves[0] if leaves else group
    if len(errors) == 1:
        return errors[0]
    return next((e for e in errors if isinstance(e, AgentHostError)), group)
