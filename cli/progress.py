"""Progress of a run on a terminal (streamed tokens, tool calls and budgets, on stderr), and
the exit code its outcome gives the command."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from agents.events import (
    Compacted,
    GuardrailHit,
    PlanUpdated,
    RunEvent,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
    TokenDelta,
    ToolFinished,
    ToolProgress,
    ToolStarted,
)
from agents.state import Outcome, OutcomeKind
from core.errors import INTERRUPTED, AgentHostError, Blocked, BudgetExhausted, Denied

# the categories of core.errors, per outcome; an ERROR's own code (Outcome.code) comes first
EXIT_CODES: dict[OutcomeKind, int] = {
    OutcomeKind.COMPLETED: 0,
    OutcomeKind.ERROR: AgentHostError.exit_code,
    OutcomeKind.BUDGET_EXHAUSTED: BudgetExhausted.exit_code,
    OutcomeKind.DENIED: Denied.exit_code,
    OutcomeKind.CANCELLED: INTERRUPTED,
    OutcomeKind.BLOCKED: Blocked.exit_code,
}


def exit_code(outcome: Outcome) -> int:
    """The exit code of a run that ended so: an error's own (3 when no backend answered, ...),
    else its kind's."""
    if outcome.kind is OutcomeKind.ERROR and outcome.code is not None:
        return outcome.code
    return EXIT_CODES[outcome.kind]


class ProgressPrinter:
    """Prints each event as it happens. ``quiet`` keeps only the start and the end (the
    outcome, with its cause)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self._in_text = False

    def _end_text(self) -> None:
        if self._in_text:
            self.console.file.write("\n")
            self._in_text = False

    async def __call__(self, event: RunEvent) -> None:
        c = self.console
        match event:
            case RunStarted():
                verb = "resuming" if event.resumed else "session"
                where = f"[dim](trace {event.trace_id}, {event.agent})[/]"
                c.print(f"[bold]{verb}[/] {event.session_id} {where}")
            case RunFinished():
                self._end_text()
                o = event.outcome
                colour = "green" if o.ok else "yellow" if o.kind is not OutcomeKind.ERROR else "red"
                detail = f": {escape(' '.join(o.detail.split()))}" if o.detail else ""
                c.print(f"[{colour}]{o.kind.value}[/]{detail}", highlight=False, soft_wrap=True)
            case _ if self.quiet:
                return
            case StepStarted():
                where = f" (plan step {event.plan_step + 1})" if event.plan_step is not None else ""
                c.print(f"[cyan]step {event.index}[/]{where}")
            case TokenDelta():
                c.file.write(event.text)
                c.file.flush()
                self._in_text = True
            case ToolStarted():
                self._end_text()
                args = json.dumps(event.call.arguments)
                c.print(
                    f"  [magenta]→ {event.call.name}[/] {args[:200]}", markup=True, highlight=False
                )
            case ToolProgress():
                c.print(f"  [dim]… {escape(event.text())}[/]", highlight=False)
            case ToolFinished():
                r = event.record
                text = r.result.replace("\n", " ")
                text = text[:160] + ("…" if len(text) > 160 else "")
                tag = f"[red]✗ {r.error_kind}[/]" if r.is_error else "[green]←[/]"
                cached = " [dim](cached)[/]" if r.cached else ""
                if r.attachments:
                    kinds = ", ".join(a.mime_type for a in r.attachments)
                    cached += f" [dim](attached: {escape(kinds)})[/]"
                c.print(
                    f"  {tag} {text}{cached} [dim]{r.duration_s * 1000:.0f} ms[/]", highlight=False
                )
            case StepFinished():
                self._end_text()
                s = event.spent
                c.print(
                    f"  [dim]{s.steps} steps · {s.input_tokens}+{s.output_tokens} tokens · "
                    f"${s.cost_usd:.4f} · {s.seconds:.1f}s[/]"
                )
            case PlanUpdated():
                title = "replanned" if event.replanned else "plan"
                c.print(f"[bold]{title}:[/]")
                for i, step in enumerate(event.plan.steps, 1):
                    done = "✓" if (i - 1) in event.plan.results else " "
                    c.print(f"  {done} {i}. {step.goal}", highlight=False)
            case GuardrailHit():
                self._end_text()
                colour = "red" if event.action in ("block", "quarantine") else "yellow"
                c.print(f"  [{colour}]🛡 {escape(event.text())}[/]", highlight=False)
            case Compacted():
                c.print(
                    f"  [dim]context compacted: {event.dropped_messages} messages summarised[/]"
                )
