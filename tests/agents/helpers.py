"""Shared pieces for tests of the loops: a calculator toolset and a context builder."""

from __future__ import annotations

from collections.abc import Callable

from agents import AgentConfig, AgentContext, Budget, BudgetMeter, FunctionToolset, MemoryRecorder

__all__ = ["CALC", "FunctionToolset", "make_ctx", "toolset"]
from agents.events import RunEvent
from inference import ChatModel, Price
from tests.inference.sample_tools import CALCULATOR

CALC = CALCULATOR


def calculator(expression: str) -> str:
    if not set(expression) <= set("0123456789+-*/(). "):
        raise ValueError(f"not arithmetic: {expression!r}")
    return str(eval(expression))


def toolset() -> FunctionToolset:
    tools = FunctionToolset()
    tools.add(CALC, calculator)
    return tools


def make_ctx(
    model: ChatModel,
    *,
    budget: Budget | None = None,
    tools: FunctionToolset | None = None,
    config: AgentConfig | None = None,
    price: Price | None = None,
    events: list[RunEvent] | None = None,
) -> tuple[AgentContext, MemoryRecorder]:
    recorder = MemoryRecorder()
    sink = events if events is not None else []

    async def emit(event: RunEvent) -> None:
        sink.append(event)

    price_of: Callable[[str], Price] = lambda backend: price or Price()  # noqa: E731
    ctx = AgentContext(
        model=model,
        tools=tools or toolset(),
        meter=BudgetMeter(budget or Budget(max_steps=20)),
        recorder=recorder,
        emit=emit,
        config=config or AgentConfig(),
        price_of=price_of,
        worst_price=lambda tier: price or Price(),
    )
    return ctx, recorder
