"""``[gateway]`` of agenthost.toml: where the HTTP gateway listens, its rate limits and its
request queue. Plain data; the gateway package reads it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RateLimit(BaseModel):
    """Requests and tokens a minute for one scope (None: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(None, ge=1, description="requests a minute")
    tpm: int | None = Field(None, ge=1, description="model tokens (input + output) a minute")


class LimitsConfig(BaseModel):
    """``[gateway.limits]``: request- and token-rate limits per key, per tenant and per client
    IP, counted in memory (one gateway) or in Redis (several replicas share the counts)."""

    model_config = ConfigDict(extra="forbid")

    storage: str = Field(
        "memory://",
        description="memory:// (this process), or redis://host:port/db to share the counts "
        "between gateway replicas",
    )
    storage_timeout_s: float = Field(
        0.25,
        gt=0,
        description="how long one Redis round trip may take before the limits fail open "
        "(the request is admitted uncounted)",
    )
    key: RateLimit = Field(
        default_factory=lambda: RateLimit(rpm=600),
        description="every key's limits; a key made with --rpm has its own request rate",
    )
    tenant: RateLimit = Field(default_factory=RateLimit, description="every tenant's limits")
    ip: RateLimit = Field(
        default_factory=lambda: RateLimit(rpm=1200), description="every client address's limits"
    )
    tenants: dict[str, RateLimit] = Field(
        default_factory=dict, description="a tenant's own limits, in place of `tenant`"
    )


class QueueConfig(BaseModel):
    """``[gateway.queue]``: the bounded queue in front of inference. ``slots`` model calls
    (chat completions and agent steps) run at once; up to ``max_waiting`` more wait, highest
    priority first; beyond that a request gets 503 with Retry-After. A running agent waits
    between its steps while higher-priority work is queued."""

    model_config = ConfigDict(extra="forbid")

    slots: int = Field(2, ge=1, description="model calls served at once")
    max_waiting: int = Field(64, ge=0, description="requests that may wait for a slot")
    max_wait_s: float = Field(
        30.0, gt=0, description="a request waiting longer than this gets 503 and Retry-After"
    )
    tiers: dict[str, int] = Field(
        default_factory=lambda: {"high": 0, "standard": 1, "batch": 2},
        description="priority of each tenant tier (lower runs first)",
    )
    tenant_tiers: dict[str, str] = Field(
        default_factory=dict, description="each tenant's tier (default: default_tier)"
    )
    default_tier: str = "standard"

    def priority(self, tenant: str) -> int:
        tier = self.tenant_tiers.get(tenant, self.default_tier)
        return self.tiers.get(tier, max(self.tiers.values(), default=0))


class GatewayConfig(BaseModel):
    """``[gateway]``: the HTTP front door (``agenthost gateway``)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="listen address (loopback unless told)")
    port: int = Field(8780, ge=1, le=65535)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    max_body_bytes: int = Field(1_000_000, ge=1024, description="a larger request gets 413")
    trust_forwarded_for: bool = Field(
        False,
        description="take the client address from X-Forwarded-For (only behind a proxy you run)",
    )
