"""Short ids, like git's: a unique prefix of a session or approval id is accepted wherever the
id is (``4b4ec0`` or ``ses_4b4ec0`` for ``ses_4b4ec085bd5d46f2``), and tables show one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.errors import InvalidRequest

MIN_PREFIX = 4
SHORT = 8  # hex digits tables show: unique among millions of ids, short enough for any table


class AmbiguousId(InvalidRequest):
    """A prefix that more than one id starts with."""


def short(full_id: str, digits: int = SHORT) -> str:
    """``ses_4b4ec085bd5d46f2`` → ``4b4ec085``: what a narrow table shows and users type."""
    return full_id.partition("_")[2][:digits] or full_id[:digits]


def resolve(
    ref: str,
    kind: str,
    starting_with: Callable[[str], Sequence[str]],
    not_found: Callable[[str], Exception],
    what: str,
) -> str:
    """The one id that ``ref`` is a prefix of (with or without the ``kind_`` prefix).
    ``starting_with(prefix)`` lists ids that start with ``prefix`` (a few are enough);
    ``not_found(ref)`` is raised when none does. Callers try the exact id first."""
    ref = ref.strip()
    bare = ref.removeprefix(f"{kind}_")
    if len(bare) < MIN_PREFIX:
        raise not_found(ref)
    found = sorted(set(starting_with(f"{kind}_{bare}")) | set(starting_with(ref)))
    if not found:
        raise not_found(ref)
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise AmbiguousId(f"{ref!r} matches {len(found)} {what}s ({shown}); give more characters")
    return found[0]
