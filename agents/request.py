"""The one typed request a run starts from, made where it enters (CLI, console, MCP
``run_task``, Python) and carried down to the loop, the toolbox and every tool call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from agents.budget import Budget
from core.errors import InvalidRequest
from core.logctx import check_request_id
from core.principal import Principal, TraceContext

AGENT_KINDS = ("react", "plan")


@dataclass(frozen=True)
class RunRequest:
    """What to run, for whom, under which limits.

    ``agent``, ``tier`` and ``budget`` left unset take the configured defaults; ``budget``
    limits replace the configured per-run ones limit by limit; ``tools`` (globs over
    namespaced names, e.g. ``time__*``) narrows the role's tools for this run. ``prompt``
    (``SERVER:NAME``, with ``prompt_args``) is a connected server's prompt used as the task's
    template, and ``resources`` (``SERVER:URI``) are attached to the task; the host composes
    them (host/resources.py). ``request_id`` (an ``X-Request-ID``: 1 to 128 of
    ``A-Za-z0-9._:-``) is kept on the run's session and root span and on every log line of
    the run, and sent with its tool calls."""

    task: str
    agent: str | None = None
    role: str | None = None
    tools: tuple[str, ...] = ()
    tier: str | None = None
    budget: Budget | None = None
    principal: Principal = field(default_factory=Principal)
    trace: TraceContext | None = None
    require_tool: bool = False  # the first model turn must call a tool (small models need it)
    prompt: str | None = None
    prompt_args: Mapping[str, str] = field(default_factory=dict)
    resources: tuple[str, ...] = ()
    request_id: str | None = None

    def __post_init__(self) -> None:
        if not self.task.strip() and self.prompt is None:
            raise InvalidRequest("the task is empty")
        if self.agent is not None and self.agent not in AGENT_KINDS:
            raise InvalidRequest(
                f"unknown agent {self.agent!r}; choose one of {', '.join(AGENT_KINDS)}"
            )
        if self.request_id is not None:
            check_request_id(self.request_id)
        object.__setattr__(self, "task", self.task.strip())
        object.__setattr__(self, "tools", tuple(self.tools))
        object.__setattr__(self, "resources", tuple(self.resources))

    def with_(self, **changes: object) -> RunRequest:
        return replace(self, **changes)  # type: ignore[arg-type]
