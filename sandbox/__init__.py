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
from sandbox.probe import ProbeReport, probe
from sandbox.protocol import Sandbox
from sandbox.types import ExecResult, FileInfo, Isolation, Language, LimitHit

__all__ = [
    "ExecResult",
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
    "ProbeReport",
    "Reply",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SessionError",
    "WeakIsolationWarning",
    "open_sandbox",
    "probe",
]
