"""``[auth]``: the bearer check in front of every HTTP listener (the gateway, ``agenthost serve
--transport http``, the domain servers over HTTP)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_failures: int = Field(
        30,
        ge=1,
        description="failed authentications one client address may have in a window; then it "
        "gets 429 until the window ends (clients whose key was just verified still pass)",
    )
    failure_window_s: float = Field(
        60.0, gt=0, description="the window max_failures counts in, in seconds"
    )
