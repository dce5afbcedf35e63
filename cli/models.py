"""The model verbs: ``chat``, ``models`` and ``config``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.boundary import App, BadArgument, err, options, run_async, settings
from core.errors import Unavailable
from inference import ChatRequest, ChatResult, Message, Routed, TextDelta, build_router
from settings import Settings, find_config_file, masked

app = App()


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
        raise BadArgument("nothing to say: give a prompt or pipe one on stdin")
    messages = ([Message.system(system)] if system else []) + [Message.user(text.strip())]
    request = ChatRequest(
        tuple(messages), max_tokens=max_tokens, temperature=temperature, tier=tier
    )

    async def go() -> ChatResult:
        loaded = settings()
        router = build_router(loaded.inference, loaded.logs_dir)
        result = ChatResult()
        try:
            async for event in router.stream(request):
                result.add(event)
                if isinstance(event, TextDelta) and not as_json:
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif isinstance(event, Routed) and options.debug:
                    err.print(f"[dim]route: {event.decision}[/]")
        finally:
            await router.aclose()
        return result

    result = run_async(go)
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
        loaded = settings()
        cfg = loaded.inference
        rows: list[dict[str, Any]] = []
        router = build_router(cfg, loaded.logs_dir)
        try:
            for name, backend in router.backends.items():
                health = await backend.health()
                rows.append(
                    {
                        "backend": name,
                        "kind": cfg.backends[name].kind,
                        "model": backend.model,
                        "tiers": [t for t, chain in cfg.tiers.items() if name in chain],
                        "healthy": health.ok,
                        "detail": health.detail,
                        "price": router.price_of(name).model_dump(exclude_defaults=True),
                    }
                )
        finally:
            await router.aclose()
        return rows

    rows = run_async(go)
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
        raise typer.Exit(Unavailable.exit_code)


@app.command("config")
def show_config() -> None:
    """Print the effective configuration as JSON, secrets masked, and where it came from.

    Masked as "***": every header and every server env value, any field named like a secret
    (api_key, token, password, ...), passwords and tokens in URLs (database_url, the gateway's
    storage, a server's url) and secret flags in args. Every field is still shown.
    """
    loaded: Settings = settings()
    source = find_config_file(options.config)
    err.print(f"[dim]config file: {source or 'none (defaults)'}; home: {loaded.home}[/]")
    print(json.dumps(masked(loaded), indent=2))
