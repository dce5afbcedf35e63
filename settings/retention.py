"""``[retention]`` of agenthost.toml: how long stored runs, approvals, audit entries and logs
are kept. Plain data; ``agenthost purge`` reads it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetentionConfig(BaseModel):
    """What ``agenthost purge`` removes without ``--days``: what is older than ``days``."""

    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(
        None,
        ge=1,
        description="finished sessions, decided approvals, audit entries and log files older "
        "than this many days go with `agenthost purge` (None: kept forever)",
    )
