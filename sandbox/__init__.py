"""Isolated code execution: the Sandbox protocol, the namespace sandbox, a fake for tests."""

from __future__ import annotations

from sandbox.config import IsolationMode, Limits, SandboxConfig
from sandbox.errors import (
    FileAccessError,
    FileTooLarge,
    IsolationUnavailable,
    SandboxError,
    SessionError,
)
from sandbox.fake import FakeSandbox, Reply
from sandbox.local import LocalSandbox, WeakIsolationWarning, open_sandbox
from sandbox.probe import Capabilities, probe
from sandbox.protocol import Sandbox
from sandbox.types import FileInfo, Isolation, Language, LimitHit, RunResult

__all__ = [
    "Capabilities",
    "FakeSandbox",
    "FileAccessError",
    "FileInfo",
    "FileTooLarge",
    "Isolation",
    "IsolationMode",
    "IsolationUnavailable",
    "Language",
    "LimitHit",
    "Limits",
    "LocalSandbox",
    "Reply",
    "RunResult",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SessionError",
    "WeakIsolationWarning",
    "open_sandbox",
    "probe",
]
