"""The ``agenthost`` command line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import typer
from rich.console import Console
from rich.table import Table

from agents.budget import Budget
from agents.state import RunResult
from approvals import ApprovalStore, Decision, NotPending
from core.errors import AgentHostError
from host.cli_rag import register as register_rag
from host.host import Host, RunRejected
from host.progress import EXIT_CODES, ProgressPrinter
from host.toolbox import UnknownRole
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
from memory.sessions import SessionNotFound, SessionStore, make_engine
from settings import Settings, find_config_file, load_settings

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
    """Run an async command; expected failures become one line on stderr and an exit code.

    Ctrl-C cancels the command's task, so a run in progress saves itself as cancelled; a
    second Ctrl-C stops at once. Either way the exit code is 130, even when the cancellation
    was absorbed on its way out (the command then finished, but the user asked to stop)."""
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
        try:
            result = anyio.run(main)
        except BaseExceptionGroup as group:
            raise _single(group) from None
        except asyncio.CancelledError:
            if not interrupts:
                raise
            raise KeyboardInterrupt from None
        if interrupts:
            raise KeyboardInterrupt
        return result
    except asyncio.CancelledError:  # out of an exception group
        if not interrupts:
            raise
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except (AgentHostError, InferenceError) as exc:
        if state.debug:
            raise
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(_exit_code(exc)) from None


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error inside nested exception groups, or the group itself."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    return leaves[0] if len(leaves) == 1 else group


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


# ---- agent runs ---------------------------------------------------------------------

AgentOpt = Annotated[
    str | None, typer.Option("--agent", "-a", help="Loop: react or plan (default: config).")
]
RoleOpt = Annotated[
    str | None, typer.Option("--role", "-r", help="Role whose tools the run may use.")
]
StepsOpt = Annotated[int | None, typer.Option("--max-steps", min=1, help="Most model turns.")]
CostOpt = Annotated[float | None, typer.Option("--max-cost", min=0.0, help="Most USD to spend.")]
SecondsOpt = Annotated[
    float | None, typer.Option("--max-seconds", min=0.0, help="Most wall-clock seconds.")
]
TokensOpt = Annotated[
    int | None, typer.Option("--max-output-tokens", min=1, help="Most generated tokens.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print a JSON summary (answer, outcome, steps, tokens, cost, trace_id)."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]


def _budget(
    steps: int | None, cost: float | None, seconds: float | None, tokens: int | None
) -> Budget | None:
    if steps is None and cost is None and seconds is None and tokens is None:
        return None
    return Budget(max_steps=steps, max_cost_usd=cost, max_seconds=seconds, max_output_tokens=tokens)


def _finish_run(result: RunResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
    elif result.answer:
        print(result.answer)
    if not as_json:
        s = result.spent
        err.print(
            f"[dim]{result.outcome.kind.value} · {s.steps} steps · "
            f"{s.input_tokens}+{s.output_tokens} tokens · ${s.cost_usd:.4f} · {s.seconds:.1f}s · "
            f"session {result.session_id}[/]"
        )
    code = EXIT_CODES[result.outcome.kind]
    if code:
        raise typer.Exit(code)


@app.command()
def run(
    task: Annotated[str | None, typer.Argument(help="The task. Reads stdin when omitted.")] = None,
    agent: AgentOpt = None,
    role: RoleOpt = None,
    max_steps: StepsOpt = None,
    max_cost: CostOpt = None,
    max_seconds: SecondsOpt = None,
    max_output_tokens: TokensOpt = None,
    user: Annotated[str | None, typer.Option(help="Whose budget pays (per-user limits).")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant (per-tenant limits).")] = None,
    tool: Annotated[
        list[str] | None,
        typer.Option(
            "--tool", "-t", help="Only tools matching this glob (repeatable), e.g. 'time__*'."
        ),
    ] = None,
    require_tool: Annotated[
        bool,
        typer.Option(
            "--require-tool", help="The first model turn must call a tool (small models need it)."
        ),
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Run an agent on a task with the configured MCP servers' tools.

    Progress (steps, streamed tokens, tool calls, budget use) goes to stderr; the answer goes
    to stdout. Every run is a session, checkpointed after each step: `agenthost resume ID`
    continues one whose process died.

    Exit codes: 0 completed, 4 budget exhausted, 5 approval denied, 1 error,
    2 bad config or arguments, 3 no model backend, 130 interrupted.

    Examples:

      agenthost run "What time is it in Tokyo?"

      agenthost run "Plan a trip" --agent plan --max-steps 8 --max-cost 0.05 --json
    """
    text = task if task is not None else ("" if sys.stdin.isatty() else sys.stdin.read())
    if not text.strip():
        err.print("[red]error:[/] nothing to do: give a task or pipe one on stdin")
        raise typer.Exit(2)
    budget = _budget(max_steps, max_cost, max_seconds, max_output_tokens)

    async def go() -> RunResult:
        settings = _settings()
        if require_tool:
            settings.agent.require_tool_first = True
        async with Host(settings) as host:
            return await host.run(
                text,
                agent=agent,
                role=role,
                budget=budget,
                user=user,
                tenant=tenant,
                tools=tool,
                on_event=ProgressPrinter(err, quiet=quiet),
            )

    _finish_run(_run(go), as_json)


@app.command()
def resume(
    session: Annotated[str, typer.Argument(help="Session id (see `agenthost sessions`).")],
    max_steps: StepsOpt = None,
    max_cost: CostOpt = None,
    max_seconds: SecondsOpt = None,
    max_output_tokens: TokensOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Continue a run from its last completed step.

    For runs whose process was killed, and for runs that ran out of budget (give a larger
    one). Completed runs are not run again.
    """
    budget = _budget(max_steps, max_cost, max_seconds, max_output_tokens)

    async def go() -> RunResult:
        async with Host(_settings()) as host:
            return await host.resume(
                session, budget=budget, on_event=ProgressPrinter(err, quiet=quiet)
            )

    _finish_run(_run(go), as_json)


@app.command()
def sessions(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    status: Annotated[
        str | None, typer.Option(help="Only this status (running, completed, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List recent sessions: status, agent, steps, tokens, cost, task."""
    settings = _call(_settings)
    store = SessionStore(settings.db_url)
    rows = store.recent(limit=limit, status=status)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("session", "status", "agent", "steps", "tokens", "cost", "created", "task")
    for r in rows:
        table.add_row(
            r.id,
            r.status,
            r.agent,
            str(r.steps),
            f"{r.input_tokens}+{r.output_tokens}",
            f"${r.cost_usd:.4f}",
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            r.task[:50],
        )
    Console().print(table)


@app.command()
def show(
    session: Annotated[str, typer.Argument(help="Session id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one session: its steps, tool calls, outcome and trace spans."""
    settings = _call(_settings)
    store = SessionStore(settings.db_url)
    try:
        row = store.get(session)
    except SessionNotFound as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    steps = store.steps(session)
    spans = store.spans(row.trace_id)
    if as_json:
        print(
            json.dumps(
                {
                    "session": row.model_dump(mode="json"),
                    "steps": [asdict(s) for s in steps],
                    "spans": [s.model_dump(mode="json") for s in spans],
                },
                indent=2,
            )
        )
        return
    c = Console()
    c.print(f"[bold]{row.id}[/] {row.status} · {row.agent} · trace {row.trace_id}")
    c.print(f"task: {row.task}", highlight=False)
    for step in steps:
        c.print(f"[cyan]step {step.index}[/] {step.kind}{' (partial)' if step.partial else ''}")
        if step.text.strip():
            c.print(f"  {step.text.strip()[:300]}", highlight=False)
        for t in step.tools:
            mark = f"✗ {t.error_kind}" if t.is_error else "←"
            c.print(f"  → {t.name} {json.dumps(t.arguments)[:120]}", highlight=False)
            c.print(f"    {mark} {t.result[:200]}", highlight=False)
    if row.answer:
        c.print(f"[bold]answer:[/] {row.answer}", highlight=False)
    if row.outcome:
        c.print(f"[bold]outcome:[/] {row.outcome}", highlight=False)


@app.command()
def tools(
    role: RoleOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start the configured MCP servers and list their tools (for a role, if given)."""

    async def go() -> list[dict[str, Any]]:
        async with Host(_settings()) as host:
            assert host.toolbox is not None
            try:
                entries = host.toolbox.entries(role)
            except UnknownRole as exc:
                raise RunRejected(str(exc)) from None
            rows = [
                {
                    "tool": e.name,
                    "server": e.server.name,
                    "risk": e.risk,
                    "cacheable": e.policy.cacheable,
                    "description": e.tool.description,
                }
                for e in entries.values()
            ]
            for server in host.servers.values():
                if not server.tools:
                    rows.append(
                        {
                            "tool": "",
                            "server": server.name,
                            "risk": "",
                            "cacheable": False,
                            "description": f"{server.state.value}: {server.last_error}",
                        }
                    )
            return rows

    rows = _run(go)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("tool", "server", "risk", "cache", "description")
    for r in rows:
        table.add_row(
            r["tool"],
            r["server"],
            r["risk"],
            "yes" if r["cacheable"] else "",
            r["description"].split("\n")[0][:70],
        )
    Console().print(table)


@app.command()
def serve(
    mcp: Annotated[
        bool, typer.Option("--mcp", help="Serve the host over MCP (the only mode so far).")
    ] = False,
    transport: Annotated[
        str, typer.Option(help="stdio (for IDEs and desktop apps) or http (streamable HTTP).")
    ] = "stdio",
    bind: Annotated[str, typer.Option("--host", help="Address for http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for http.")] = 8765,
) -> None:
    """Serve the host to MCP clients: tool run_task, resources agenthost://sessions/{id}.

    Claude Desktop / VS Code: add {"command": "agenthost", "args": ["serve", "--mcp"]} to
    their mcpServers (see docs/host.md).
    """
    if not mcp:
        err.print("[red]error:[/] say what to serve: --mcp")
        raise typer.Exit(2)
    if transport not in ("stdio", "http"):
        err.print(f"[red]error:[/] unknown transport {transport!r}: use stdio or http")
        raise typer.Exit(2)

    async def go() -> None:
        from host.serve import serve as serve_mcp

        await serve_mcp(
            _settings(), "http" if transport == "http" else "stdio", bind=bind, port=port
        )

    _run(go)


@app.command()
def tui(
    attach: Annotated[
        bool,
        typer.Option(
            "--attach",
            help="Only watch: show the runs and approvals of other agenthost processes "
            "(same $AGENTHOST_HOME) without starting MCP servers or models here.",
        ),
    ] = False,
) -> None:
    """The operator console: start runs and watch them stream, approve risky tool calls,
    see budgets move, open traces, check MCP servers, search memory and knowledge.

    Keyboard first: ? lists every key, ctrl+p finds every action by name. Runs still going
    when you quit are saved as cancelled; `agenthost resume SESSION` continues them.
    Logs go to $AGENTHOST_HOME/logs/tui.log (the screen is the console's).

    Examples:

      agenthost tui

      agenthost tui --attach    # next to an `agenthost serve --mcp` or CLI runs
    """
    if not sys.stdout.isatty() and not os.environ.get("AGENTHOST_TUI_FORCE"):
        err.print("[red]error:[/] the console needs a terminal (stdout is not a tty)")
        raise typer.Exit(2)
    try:
        settings = load_settings(state.config)
        settings.ensure_home()
    except (AgentHostError, ConfigError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(_exit_code(exc)) from None
    logging.basicConfig(
        level="DEBUG" if state.debug else settings.log_level.upper(),
        filename=settings.logs_dir / "tui.log",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from tui.app import run_console

    run_console(settings, attach=attach)


approvals_app = typer.Typer(
    help="Risky tool calls waiting for a decision: list them, approve, deny, audit.",
    no_args_is_help=True,
)
app.add_typer(approvals_app, name="approvals")


def _approval_store() -> ApprovalStore:
    settings = _call(_settings)
    return ApprovalStore(make_engine(settings.db_url))


@approvals_app.command("list")
def approvals_list(
    show_all: Annotated[
        bool, typer.Option("--all", help="Decided ones too (newest first).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pending approval requests (or all recent ones)."""
    store = _approval_store()
    rows = store.recent() if show_all else store.pending()
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("id", "status", "tool", "risk", "session", "arguments", "waiting")
    now = time.time()
    for r in rows:
        waited = f"{now - r.created_at:.0f}s" if r.status == "pending" else r.decided_by or ""
        table.add_row(
            r.id, r.status, r.tool, r.risk, r.session_id, json.dumps(r.arguments)[:60], waited
        )
    Console().print(table)
    if not rows:
        err.print("[dim]nothing pending[/]" if not show_all else "[dim]no approvals yet[/]")


def _decide(approval_id: str, decision: Decision) -> None:
    try:
        row = _approval_store().decide(approval_id, decision)
    except NotPending as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    err.print(f"{row.id}: {row.status} by {row.decided_by}")


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="Request id (see `approvals list`).")],
    reason: Annotated[str, typer.Option(help="Why (goes into the audit log).")] = "",
    args: Annotated[
        str | None, typer.Option("--args", help="Run with these JSON arguments instead.")
    ] = None,
    by: Annotated[str, typer.Option(help="Who decides.")] = os.environ.get("USER", "cli"),
) -> None:
    """Approve a pending request, optionally with edited arguments."""
    edited = None
    if args is not None:
        try:
            edited = json.loads(args)
        except json.JSONDecodeError as exc:
            err.print(f"[red]error:[/] --args is not JSON: {exc}")
            raise typer.Exit(2) from None
        if not isinstance(edited, dict):
            err.print("[red]error:[/] --args must be a JSON object")
            raise typer.Exit(2)
    if edited is None:
        _decide(approval_id, Decision("approve", by, reason))
    else:
        _decide(approval_id, Decision("edit", by, reason, edited))


@approvals_app.command("deny")
def approvals_deny(
    approval_id: Annotated[str, typer.Argument(help="Request id.")],
    reason: Annotated[str, typer.Option(help="Why (the agent is told).")] = "",
    by: Annotated[str, typer.Option(help="Who decides.")] = os.environ.get("USER", "cli"),
) -> None:
    """Deny a pending request."""
    _decide(approval_id, Decision("deny", by, reason))


@approvals_app.command("audit")
def approvals_audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
) -> None:
    """Verify the append-only audit log's hash chain (exit 1 when it was tampered with)."""
    store = _approval_store()
    if as_json:
        print(json.dumps([a.model_dump(mode="json") for a in store.audit()], indent=2))
    ok, detail = store.verify()
    err.print(f"[green]ok[/] {detail}" if ok else f"[red]tampered:[/] {detail}")
    if not ok:
        raise typer.Exit(1)


def _call(fn: Callable[[], T]) -> T:
    """``_run`` for synchronous work: the same one-line errors and exit codes."""

    async def wrapper() -> T:
        return fn()

    return _run(wrapper)


register_rag(app, _settings, _run)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
