"""The host's errors (drawn in the tree of ``core.errors``)."""

from __future__ import annotations

from core.errors import InvalidRequest


class RunRejected(InvalidRequest):
    """The run cannot start as asked (unknown role or tier, finished session, ...)."""


class UnknownRole(RunRejected):
    def __init__(self, role: str, known: str) -> None:
        super().__init__(f"unknown role {role!r} (known: {known})")
        self.role = role
