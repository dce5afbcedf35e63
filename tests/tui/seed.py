"""A store with fixed runs, spans and approvals (fixed ids and times), so screens render the
same every time: for snapshot tests, the docs' screenshots and the scrolling benchmark."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from agents.budget import Budget, BudgetKind, Exhaustion, Spent
from agents.state import (
    Outcome,
    OutcomeKind,
    PlanState,
    PlanStep,
    RunState,
    Span,
    Step,
    ToolRecord,
)
from approvals import ApprovalRequest, ApprovalStore, Decision
from memory.notes import NotesStore, Scope
from memory.sessions import SessionRow, SessionStore

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC).timestamp()


def _run(
    n: int,
    task: str,
    outcome: Outcome | None,
    *,
    agent: str = "react",
    role: str | None = None,
    steps: list[Step] | None = None,
    budget: Budget | None = None,
    plan: PlanState | None = None,
    answer: str = "",
) -> RunState:
    steps = steps or []
    spent = Spent(
        steps=len(steps),
        input_tokens=sum(s.input_tokens for s in steps),
        output_tokens=sum(s.output_tokens for s in steps),
        cost_usd=sum(s.cost_usd for s in steps),
        seconds=(steps[-1].ended or T0) - steps[0].started if steps else 0.0,
    )
    return RunState(
        session_id=f"ses_demo{n:04d}aaaaaaaa",
        trace_id=f"{n:04d}" + "ab" * 14,
        task=task,
        agent=agent,
        role=role,
        budget=budget or Budget(max_steps=8, max_output_tokens=400, max_seconds=60),
        steps=steps,
        spent=spent,
        plan=plan,
        answer=answer,
        outcome=outcome,
    )


def _step(i: int, start: float, text: str, tools: list[ToolRecord], kind: str = "act") -> Step:
    return Step(
        index=i,
        kind=kind,
        text=text,
        tools=tools,
        input_tokens=300 + 40 * i,
        output_tokens=24 + 3 * i,
        cost_usd=0.0,
        model="smollm2-135m-instruct-q4_1",
        started=start,
        ended=start + 0.8 + 0.1 * i,
    )


def time_run() -> RunState:
    t = T0 + 60
    steps = [
        _step(
            1,
            t,
            "I'll look up the time in Tokyo.",
            [
                ToolRecord(
                    "call_1",
                    "time__get_current_time",
                    {"timezone": "Asia/Tokyo"},
                    '{"timezone": "Asia/Tokyo", "datetime": "2026-11-20T18:31:02+09:00"}',
                    duration_s=0.012,
                )
            ],
        ),
        _step(2, t + 1.2, "It is 18:31 in Tokyo (2026-11-20T18:31:02+09:00).", [], "answer"),
    ]
    return _run(
        1,
        "What time is it in Tokyo?",
        Outcome(OutcomeKind.COMPLETED),
        steps=steps,
        answer="It is 18:31 in Tokyo (2026-11-20T18:31:02+09:00).",
    )


def seed(store: SessionStore, approvals: ApprovalStore, notes: NotesStore) -> list[str]:
    """Write the demo runs, their spans, two approvals and a few notes; returns session ids."""
    runs = [time_run()]
    t = T0 + 300
    runs.append(
        _run(
            2,
            "Summarise the design notes and list open questions",
            Outcome(
                OutcomeKind.BUDGET_EXHAUSTED,
                "steps budget exhausted: 2/2",
                Exhaustion(BudgetKind.STEPS, 2, 2),
            ),
            budget=Budget(max_steps=2, max_output_tokens=400, max_seconds=60),
            agent="plan",
            role="researcher",
            steps=[
                _step(1, t, '{"steps": ["read the notes", "list questions"]}', [], "plan"),
                _step(
                    2,
                    t + 1,
                    "Searching the notes.",
                    [
                        ToolRecord(
                            "call_2",
                            "rag__search",
                            {"query": "open questions", "k": 5},
                            "5 hits: design.md#budgets, design.md#router, ...",
                            duration_s=0.041,
                        )
                    ],
                ),
            ],
            plan=PlanState(
                [PlanStep("read the notes", ("rag__search",)), PlanStep("list questions")],
                results={0: "5 hits"},
                replans=1,
            ),
        )
    )
    runs.append(
        _run(
            3,
            "Delete the build cache",
            Outcome(OutcomeKind.DENIED, "test__delete_file denied by tui:ops: not today"),
            steps=[
                _step(
                    1,
                    T0 + 600,
                    "",
                    [
                        ToolRecord(
                            "call_3",
                            "test__delete_file",
                            {"path": "/srv/cache"},
                            "denied: not today",
                            is_error=True,
                            error_kind="denied",
                        )
                    ],
                )
            ],
        )
    )
    runs.append(_run(4, "Compute 6 * 7 in the sandbox", None, steps=[]))
    runs.append(
        _run(5, "Fetch the weather", Outcome(OutcomeKind.ERROR, "BackendUnavailable: down"))
    )
    for i, state in enumerate(runs):
        store.save(state)
        for step in state.steps:
            _spans(store, state, step)
        created = datetime.fromtimestamp(T0 + 300 * i, UTC)
        with store.engine.begin() as conn:
            conn.execute(
                update(SessionRow)
                .where(SessionRow.id == state.session_id)  # type: ignore[arg-type]
                .values(created_at=created, updated_at=created, status=_status(state))
            )
    store.flush_spans()
    pending = ApprovalRequest(
        session_id=runs[3].session_id,
        tool="sandbox__run_python",
        arguments={"code": "import math\nprint(math.prod([6, 7]))\n", "timeout_s": 5},
        risk="high",
        agent="react",
        summary="sandbox__run_python(code=...)",
        id="apr_demo00000001",
        created_at=T0 + 905,
    )
    approvals.submit(pending)
    denied = ApprovalRequest(
        session_id=runs[2].session_id,
        tool="test__delete_file",
        arguments={"path": "/srv/cache"},
        risk="high",
        id="apr_demo00000000",
        created_at=T0 + 601,
    )
    approvals.submit(denied)
    approvals.decide(denied.id, Decision("deny", "tui:ops", "not today"))
    scope = Scope("default")
    notes.remember(scope, "Tokyo is UTC+9 all year (no DST).", key="tokyo-tz", tags=("time",))
    notes.remember(scope, "The product of 6 and 7 is 42.", key="product", tags=("math",))
    return [r.session_id for r in runs]


def _status(state: RunState) -> str:
    return state.outcome.kind.value if state.outcome else "running"


def _spans(store: SessionStore, state: RunState, step: Step) -> None:
    run_id = f"run{state.session_id[4:12]}"
    if step.index == 1:
        first = state.steps[0].started
        last = state.steps[-1].ended or first
        store.add_span(
            Span(state.trace_id, "run", f"agent {state.agent}", None, run_id, first, last),
            state.session_id,
        )
    end = step.ended or step.started
    step_id = f"step{step.index:03d}{state.session_id[4:12]}"
    store.add_span(
        Span(state.trace_id, "step", f"step {step.index}", run_id, step_id, step.started, end),
        state.session_id,
    )
    model_end = step.started + (end - step.started) * 0.7
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.response.model": step.model,
        "gen_ai.usage.input_tokens": step.input_tokens,
        "gen_ai.usage.output_tokens": step.output_tokens,
        "agenthost.cost_usd": step.cost_usd,
    }
    store.add_span(
        Span(
            state.trace_id,
            "model",
            "chat",
            step_id,
            f"m{step_id}",
            step.started,
            model_end,
            attributes,
        ),
        state.session_id,
    )
    for k, tool in enumerate(step.tools):
        status = "error" if tool.is_error else "ok"
        store.add_span(
            Span(
                state.trace_id,
                "tool",
                tool.name,
                step_id,
                f"t{k}{step_id}",
                model_end,
                model_end + max(tool.duration_s, 0.001),
                {},
                status,
            ),
            state.session_id,
        )


def long_run(steps: int) -> RunState:
    """A run with ``steps`` steps, each with a tool call (for the scrolling benchmark)."""
    out = [
        _step(
            i,
            T0 + i,
            f"Step {i}: adding one more.",
            [ToolRecord(f"c{i}", "test__add", {"a": i, "b": 1}, str(i + 1), duration_s=0.001)],
        )
        for i in range(1, steps + 1)
    ]
    return _run(9, f"Count to {steps}", Outcome(OutcomeKind.COMPLETED), steps=out,
                budget=Budget(max_steps=steps + 10), answer=f"{steps + 1}")  # fmt: skip
