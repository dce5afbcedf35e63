"""The gateway's Prometheus metrics (``GET /metrics``), in a registry of its own per app, so
two gateways in one process (tests) never share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# where p50 ≈ 1 ms (the gateway's own cost) and a long streamed answer both land in a bucket
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agenthost_gateway_requests", "HTTP requests answered", ["route", "status"], registry=r
        )
        self.seconds = Histogram(
            "agenthost_gateway_request_seconds",
            "time to the end of the response",
            ["route"],
            buckets=_SECONDS,
            registry=r,
        )
        self.tokens = Counter(
            "agenthost_gateway_tokens", "model tokens served", ["tenant", "kind"], registry=r
        )
        self.refused = Counter(
            "agenthost_gateway_refused",
            "requests refused before they ran",
            ["reason"],  # rate_limit:<scope>, queue_full, budget, auth
            registry=r,
        )
        self.queue_active = Gauge(
            "agenthost_gateway_queue_active", "model calls holding a slot", registry=r
        )
        self.queue_waiting = Gauge(
            "agenthost_gateway_queue_waiting", "requests waiting for a slot", registry=r
        )
        self.runs_live = Gauge("agenthost_gateway_runs_live", "agent runs in flight", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
