"""What every package shares and nothing else: the error tree with its exit codes
(``core.errors``), who is asking (``core.principal``) and package names imported on first use
(``core.lazy``). It imports no other package."""

from core.errors import (
    EXIT_CODES,
    AgentHostError,
    Blocked,
    BudgetExhausted,
    ConfigError,
    Denied,
    InvalidRequest,
    Unavailable,
    map_errors,
)
from core.principal import Principal, TraceContext

__all__ = [
    "EXIT_CODES",
    "AgentHostError",
    "Blocked",
    "BudgetExhausted",
    "ConfigError",
    "Denied",
    "InvalidRequest",
    "Principal",
    "TraceContext",
    "Unavailable",
    "map_errors",
]
