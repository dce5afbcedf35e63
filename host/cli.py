"""The ``agenthost`` command line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import typer
from rich.console import Console
from rich.table import Table

from host.cli_rag import register as register_rag
from host.config import Settings, find_config_file, load_settings
from host.errors import AgentHostError
from inference import (
    ChatRequest,
    ChatResult,
    InferenceError,
    Message,
    NoBackendAvailable,
    Routed,
    TextDelta,
    build_router,
)
from inference.errors import BackendError, ConfigError

app = typer.Typer(
    name="agenthost",
    help=(
        "agenthost: an agent runtime that runs offline on a laptop.\n\n"
        "Configuration comes from agenthost.toml (see agenthost.example.toml) and AGENTHOST_* "
        "environment variables; all state lives under $AGENTHOST_HOME."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err = Console(stderr=True, highlight=False)
T = TypeVar("T")


class _State:
    config: Path | None = None
    debug: bool = False


state = _State()


@app.callback()
def _global(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML config file (default: ./agenthost.toml).",
            envvar="AGENTHOST_CONFIG",
            show_envvar=True,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    state.config = config
    state.debug = debug


def _settings() -> Settings:
    settings = load_settings(state.config)
    level = "DEBUG" if state.debug else settings.log_level.upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    settings.ensure_home()
    return settings


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, AgentHostError):
        return exc.exit_code
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, NoBackendAvailable | BackendError):
        return 3
    return 1


def _run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run an async command; expected failures become one line on stderr and an exit code."""
    try:
        return anyio.run(fn)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except (AgentHostError, InferenceError) as exc:
        if state.debug:
            raise
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(_exit_code(exc)) from None


@app.command()
def chat(
    prompt: Annotated[
        str | None, typer.Argument(help="What to say. Reads standard input when omitted.")
    ] = None,
    system: Annotated[str | None, typer.Option(help="System prompt.")] = None,
    tier: Annotated[
        str | None, typer.Option(help="Model tier (e.g. fast, main); default: the router decides.")
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Most tokens to generate.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")] = 0.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (text, usage, route) at the end.")
    ] = False,
) -> None:
    """Stream a reply from the configured model (the embedded CPU model by default).

    Text goes to stdout as it is generated; a line of usage (tokens, tokens/s, time to first
    token, cost, backend) goes to stderr.

    Example: agenthost chat "Name three primary colours."
    """
    text = prompt if prompt is not None else ("" if sys.stdin.isatty() else sys.stdin.read())
    if not text.strip():
        err.print("[red]error:[/] nothing to say: give a prompt or pipe one on stdin")
        raise typer.Exit(2)
    messages = ([Message.system(system)] if system else []) + [Message.user(text.strip())]
    request = ChatRequest(
        tuple(messages), max_tokens=max_tokens, temperature=temperature, tier=tier
    )

    async def go() -> ChatResult:
        settings = _settings()
        router = build_router(settings.inference, settings.logs_dir)
        result = ChatResult()
        try:
            async for event in router.stream(request):
                result.add(event)
                if isinstance(event, TextDelta) and not as_json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Routed) and state.debug:
                    err.print(f"[dim]route: {event.decision}[/]")
        finally:
            await router.aclose()
        return result

    result = _run(go)
    if as_json:
        print(json.dumps(_result_json(result), indent=2))
        return
    sys.stdout.write("\n")
    u = result.usage
    rate = f"{u.tokens_per_s:.1f} tok/s" if u.tokens_per_s else "- tok/s"
    ttft = f"{u.ttft_s:.2f}s" if u.ttft_s is not None else "-"
    err.print(
        f"[dim]{u.output_tokens} tokens, {rate}, first token {ttft}, ${u.cost_usd:.6f}, "
        f"{u.backend} ({u.model}), finish: {result.finish_reason}[/]"
    )


def _result_json(result: ChatResult) -> dict[str, Any]:
    return {
        "text": result.text,
        "finish_reason": result.finish_reason,
        "usage": asdict(result.usage),
        "route": [asdict(d) for d in result.route],
        "tool_calls": [asdict(c) for c in result.tool_calls],
        "tool_errors": [asdict(e) for e in result.tool_errors],
    }


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List configured backends with their health, tiers and prices.

    Checking health starts what it must: the embedded model is loaded, a launched SGLang or
    llama.cpp server is started.
    """

    async def go() -> list[dict[str, Any]]:
        settings = _settings()
        cfg = settings.inference
        rows: list[dict[str, Any]] = []
        router = build_router(cfg, settings.logs_dir)
        try:
            for name, backend in router.backends.items():
                health = await backend.health()
                price = cfg.prices.get(backend.model) or cfg.prices.get(name)
                rows.append(
                    {
                        "backend": name,
                        "kind": cfg.backends[name].kind,
                        "model": backend.model,
                        "tiers": [t for t, chain in cfg.tiers.items() if name in chain],
                        "healthy": health.ok,
                        "detail": health.detail,
                        "price": price.model_dump(exclude_defaults=True) if price else {},
                    }
                )
        finally:
            await router.aclose()
        return rows

    rows = _run(go)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("backend", "kind", "model", "tiers", "health", "price")
    for r in rows:
        health = "[green]up[/]" if r["healthy"] else f"[red]down[/] {r['detail']}"
        price = ", ".join(f"{k}={v}" for k, v in r["price"].items()) or "free"
        table.add_row(r["backend"], r["kind"], r["model"], ", ".join(r["tiers"]), health, price)
    Console().print(table)
    if not all(r["healthy"] for r in rows):
        raise typer.Exit(3)


@app.command("config")
def show_config() -> None:
    """Print the effective configuration (secrets masked) and where it came from."""

    async def go() -> Settings:
        return _settings()

    settings = _run(go)
    source = find_config_file(state.config)
    err.print(f"[dim]config file: {source or 'none (defaults)'}; home: {settings.home}[/]")
    print(settings.model_dump_json(indent=2))


register_rag(app, _settings, _run)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
