"""The inference error hierarchy. Messages say what went wrong and what to do about it."""

from __future__ import annotations

import core.errors as core


class InferenceError(core.AgentHostError):
    """Base of every error raised by the inference layer."""


class ConfigError(InferenceError, core.ConfigError):
    """The inference configuration is invalid (unknown backend kind, missing model...)."""


class ModelNotFound(ConfigError):
    """The configured model file or package is not installed."""


class BackendError(InferenceError, core.Unavailable):
    """A backend failed to serve a call."""

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend


class BackendUnavailable(BackendError):
    """The backend could not be reached (connection refused, process not running)."""


class BackendTimeout(BackendError):
    """The backend did not answer within its timeout."""


class BackendResponseError(BackendError):
    """The backend answered with an error status or a response we could not parse."""

    def __init__(self, backend: str, message: str, status: int | None = None) -> None:
        super().__init__(backend, message)
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


class StreamInterrupted(BackendError):
    """A stream failed after content was delivered; it is not replayed silently."""


class NoBackendAvailable(InferenceError, core.Unavailable):
    """Every backend in a tier's fallback chain failed or was skipped."""

    def __init__(self, tier: str, failures: list[str]) -> None:
        detail = "; ".join(failures) if failures else "no backends configured"
        super().__init__(f"no backend could serve tier {tier!r}: {detail}")
        self.tier = tier
        self.failures = failures
