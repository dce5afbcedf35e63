"""Package namespaces whose names are imported on first use (PEP 562).

``settings`` needs ``agents.config``, ``approvals.policy``, ``inference.config`` and
``rag.config``, and importing any of those runs its package's ``__init__``. An eager
``__init__`` would then import every engine module (SQLAlchemy, the backends, httpx) into each
MCP server before it answers ``initialize``. A package's ``__init__`` lists its names for the
type checker under ``TYPE_CHECKING`` and hands the same table to ``exports`` for run time::

    if TYPE_CHECKING:
        from approvals.store import ApprovalStore
    else:
        __getattr__, __dir__ = exports(__name__, {"approvals.store": ["ApprovalStore"]})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def exports(
    package: str, names: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` that imports each name from its module (``names``: module →
    its names) when first asked for, and the matching ``__dir__``."""
    home = {name: module for module, listed in names.items() for name in listed}
    # importing ``package.x`` sets the package's attribute ``x`` to that module, so a lazy
    # name ``x`` would then never reach ``__getattr__``: such a name must be imported eagerly
    shadowed = sorted(n for n in home if f"{package}.{n}" in names)
    if shadowed:
        raise ValueError(f"{package}: {shadowed} are also submodules; import them eagerly")

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        # once found, a plain attribute: later lookups never come back here
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(home) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__
