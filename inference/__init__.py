"""The inference layer: one streaming ``Backend`` protocol, backends, router, accounting.

The names below are imported on first use (``core.lazy``): ``settings`` reads
``inference.config`` without loading the backends."""

from typing import TYPE_CHECKING

from core.lazy import exports

if TYPE_CHECKING:
    from inference.accounting import Metered, Price, PriceTable
    from inference.backend import Backend, Capabilities, ChatModel, Health, collect
    from inference.config import InferenceConfig
    from inference.errors import (
        BackendError,
        BackendResponseError,
        BackendTimeout,
        BackendUnavailable,
        ConfigError,
        InferenceError,
        ModelNotFound,
        NoBackendAvailable,
        StreamInterrupted,
    )
    from inference.registry import build_backend, build_router
    from inference.router import Router
    from inference.types import (
        ChatRequest,
        ChatResult,
        Finish,
        Generated,
        Grammar,
        JsonSchema,
        Message,
        Routed,
        StreamEvent,
        TextDelta,
        ToolCall,
        ToolCallError,
        ToolCallErrorEvent,
        ToolCallEvent,
        ToolSpec,
        Usage,
        UsageEvent,
    )
else:
    __getattr__, __dir__ = exports(
        __name__,
        {
            "inference.accounting": ["Metered", "Price", "PriceTable"],
            "inference.backend": ["Backend", "Capabilities", "ChatModel", "Health", "collect"],
            "inference.config": ["InferenceConfig"],
            "inference.errors": [
                "BackendError",
                "BackendResponseError",
                "BackendTimeout",
                "BackendUnavailable",
                "ConfigError",
                "InferenceError",
                "ModelNotFound",
                "NoBackendAvailable",
                "StreamInterrupted",
            ],
            "inference.registry": ["build_backend", "build_router"],
            "inference.router": ["Router"],
            "inference.types": [
                "ChatRequest",
                "ChatResult",
                "Finish",
                "Generated",
                "Grammar",
                "JsonSchema",
                "Message",
                "Routed",
                "StreamEvent",
                "TextDelta",
                "ToolCall",
                "ToolCallError",
                "ToolCallErrorEvent",
                "ToolCallEvent",
                "ToolSpec",
                "Usage",
                "UsageEvent",
            ],
        },
    )

__all__ = [
    "Backend",
    "BackendError",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "Capabilities",
    "ChatModel",
    "ChatRequest",
    "ChatResult",
    "ConfigError",
    "Finish",
    "Generated",
    "Grammar",
    "Health",
    "InferenceConfig",
    "InferenceError",
    "JsonSchema",
    "Message",
    "Metered",
    "ModelNotFound",
    "NoBackendAvailable",
    "Price",
    "PriceTable",
    "Routed",
    "Router",
    "StreamEvent",
    "StreamInterrupted",
    "TextDelta",
    "ToolCall",
    "ToolCallError",
    "ToolCallErrorEvent",
    "ToolCallEvent",
    "ToolSpec",
    "Usage",
    "UsageEvent",
    "build_backend",
    "build_router",
    "collect",
]
