"""The agent-run verbs: ``run``, ``resume``, ``sessions``, ``show`` and ``tools``."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from agents.budget import Budget
from agents.request import RunRequest
from agents.state import RunResult
from cli.boundary import App, BadArgument, err, run_async, settings
from cli.progress import ProgressPrinter, exit_code
from core import ids
from core.errors import exit_codes_text
from core.principal import Principal

if TYPE_CHECKING:
    from host.host import Host
    from memory.sessions import SessionStore

app = App()

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
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress on stderr: only the start and the outcome."),
]


# the engine (host, MCP client, SQLModel) loads for the commands that use it, not for every
# `agenthost` invocation (`serve --mcp` has its own)
def _host() -> Host:
    from host.host import Host

    return Host(settings())


def _sessions() -> SessionStore:
    from memory.sessions import SessionStore

    return SessionStore(settings().db_url)


def _budget(
    steps: int | None, cost: float | None, seconds: float | None, tokens: int | None
) -> Budget | None:
    if steps is None and cost is None and seconds is None and tokens is None:
        return None
    return Budget(max_steps=steps, max_cost_usd=cost, max_seconds=seconds, max_output_tokens=tokens)


def _pairs(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadArgument(f"--arg {item!r} must be KEY=VALUE")
        out[key] = value
    return out


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
            f"session {result.session_id}[/]",
            soft_wrap=True,
        )
    code = exit_code(result.outcome)
    if code:
        raise typer.Exit(code)


RUN_HELP = f"""Run an agent on a task with the configured MCP servers' tools.

    Progress (steps, streamed tokens, tool calls, budget use) goes to stderr; the answer goes
    to stdout. Every run is a session, checkpointed after each step: `agenthost resume ID`
    continues one whose process died.

    Exit codes: {exit_codes_text()}.

    Examples:

      agenthost run "What time is it in Tokyo?"

      agenthost run "Plan a trip" --agent plan --max-steps 8 --max-cost 0.05 --json

      agenthost run --prompt everything:args-prompt --arg city=Paris

      agenthost run "Summarise it" --attach everything:demo://resource/static/document/features.md
    """


@app.command(help=RUN_HELP)
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
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt", help="A connected server's prompt as the task's template: SERVER:NAME."
        ),
    ] = None,
    arg: Annotated[
        list[str] | None, typer.Option("--arg", help="A prompt argument KEY=VALUE (repeatable).")
    ] = None,
    attach: Annotated[
        list[str] | None,
        typer.Option("--attach", help="Attach a server's resource to the task: SERVER:URI."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    if task is not None:
        text = task
    elif prompt is not None or sys.stdin.isatty():
        text = ""
    else:
        text = sys.stdin.read()
    if not text.strip() and prompt is None:
        raise BadArgument("nothing to do: give a task or pipe one on stdin")
    if arg and prompt is None:
        raise BadArgument("--arg needs --prompt")
    request = RunRequest(
        text,
        agent=agent,
        role=role,
        tools=tuple(tool or ()),
        budget=_budget(max_steps, max_cost, max_seconds, max_output_tokens),
        principal=Principal.of(tenant=tenant, user=user),
        require_tool=require_tool,
        prompt=prompt,
        prompt_args=_pairs(arg or ()),
        resources=tuple(attach or ()),
    )

    async def go() -> RunResult:
        async with _host() as host:
            return await host.run(request, on_event=ProgressPrinter(err, quiet=quiet))

    _finish_run(run_async(go), as_json)


@app.command()
def resume(
    session: Annotated[
        str, typer.Argument(help="Session id or a unique prefix (see `agenthost sessions`).")
    ],
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
        async with _host() as host:
            return await host.resume(
                session, budget=budget, on_event=ProgressPrinter(err, quiet=quiet)
            )

    _finish_run(run_async(go), as_json)


@app.command()
def sessions(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    status: Annotated[
        str | None, typer.Option(help="Only this status (running, completed, ...).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List recent sessions, newest first: a short id (a unique prefix: `agenthost show
    4b4ec085` works, like git), status, steps, tokens, cost, task. --json has everything."""
    store = _sessions()
    rows = store.recent(limit=limit, status=status)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    # a short unique prefix of the id (accepted wherever an id is, like git's), never cut
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("session", no_wrap=True, min_width=ids.SHORT)
    table.add_column("status", no_wrap=True)
    for name in ("steps", "tokens", "cost", "created"):
        table.add_column(name, no_wrap=True)
    table.add_column("task", overflow="fold")
    for r in rows:
        table.add_row(
            ids.short(r.id),
            r.status,
            str(r.steps),
            f"{r.input_tokens}+{r.output_tokens}",
            f"${r.cost_usd:.4f}",
            r.created_at.strftime("%m-%d %H:%M"),
            r.task[:60],
        )
    Console().print(table)


@app.command()
def show(
    session: Annotated[str, typer.Argument(help="Session id or a unique prefix of it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one session: its steps, tool calls, outcome and trace spans."""
    store = _sessions()
    row = store.get(session)  # the id or a unique prefix of it
    steps = store.steps(row.id)
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
    if row.options.get("request_id"):
        c.print(f"request: {row.options['request_id']}", highlight=False)
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
        async with _host() as host:
            rows = [
                {
                    "tool": e.name,
                    "server": e.server.name,
                    "risk": e.risk,
                    "cacheable": e.policy.cacheable,
                    "description": e.tool.description,
                }
                for e in host.toolbox.entries(role).values()
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

    rows = run_async(go)
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
