"""Usage and cost accounting, applied in one place to every model call.

``Metered`` wraps any backend: it times the stream (time to first and last token) and prices
the usage the backend reports with the per-model price table from config.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

from pydantic import BaseModel, Field, model_validator

from inference.backend import Backend, Capabilities, Health, closing
from inference.types import CONTENT_EVENTS, ChatRequest, StreamEvent, Usage, UsageEvent


class Price(BaseModel):
    """How a model is billed: per token (hosted APIs) or per GPU hour (self-hosted)."""

    input_per_mtok: float = Field(0.0, ge=0, description="USD per million input tokens")
    output_per_mtok: float = Field(0.0, ge=0, description="USD per million output tokens")
    gpu_per_hour: float = Field(0.0, ge=0, description="USD per hour of the serving GPU(s)")

    @model_validator(mode="after")
    def _one_scheme(self) -> Price:
        if self.gpu_per_hour and (self.input_per_mtok or self.output_per_mtok):
            raise ValueError("set either per-token prices or gpu_per_hour, not both")
        return self

    def cost(self, usage: Usage) -> float:
        if self.gpu_per_hour:
            # Self-hosted: the call is charged for the wall time it held the GPU.
            return (usage.ttlt_s or 0.0) * self.gpu_per_hour / 3600.0
        return (
            usage.input_tokens * self.input_per_mtok + usage.output_tokens * self.output_per_mtok
        ) / 1_000_000


FREE = Price()


class PriceTable(BaseModel):
    """Prices keyed by model name; a key may also be a backend name."""

    models: dict[str, Price] = Field(default_factory=dict)

    def for_call(self, backend: str, model: str) -> Price:
        return self.models.get(model) or self.models.get(backend) or FREE


class Metered:
    """A backend wrapper that adds timing and cost to the usage of every call."""

    def __init__(self, inner: Backend, prices: PriceTable) -> None:
        self.inner = inner
        self.prices = prices

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str:
        return self.inner.model

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def health(self) -> Health:
        return await self.inner.health()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        start = time.perf_counter()
        first: float | None = None
        last: float | None = None
        async with closing(self.inner.stream(request)) as inner:
            async for event in inner:
                if isinstance(event, CONTENT_EVENTS):
                    last = time.perf_counter() - start
                    if first is None:
                        first = last
                if isinstance(event, UsageEvent):
                    event = UsageEvent(self._price(event.usage, first, last))
                yield event

    def _price(self, usage: Usage, first: float | None, last: float | None) -> Usage:
        usage = replace(
            usage,
            ttft_s=usage.ttft_s if usage.ttft_s is not None else first,
            ttlt_s=usage.ttlt_s if usage.ttlt_s is not None else last,
            backend=usage.backend or self.inner.name,
            model=usage.model or self.inner.model,
        )
        price = self.prices.for_call(usage.backend, usage.model)
        return replace(usage, cost_usd=price.cost(usage))
