"""The sandbox error hierarchy. Messages say what went wrong and what to do about it."""

from __future__ import annotations

import core.errors as core


class SandboxError(core.AgentHostError):
    """Base of every error raised by the sandbox package."""


class IsolationUnavailable(SandboxError, core.Unavailable):
    """No strong isolation works on this machine and weak isolation was not allowed."""


class SessionError(SandboxError, core.InvalidRequest):
    """A session id is malformed."""


class FileAccessError(SandboxError, core.InvalidRequest):
    """A file path is unsafe (absolute, ``..``, through a symlink) or names no regular file."""


class FileTooLarge(FileAccessError):
    """An upload or download is over ``max_transfer_bytes``."""
