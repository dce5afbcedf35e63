"""Turning run data into short text for tables and readable views for people."""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from agents.budget import BudgetKind

STATUS_STYLE = {
    "running": "bold cyan",
    "waiting": "bold yellow",
    "completed": "green",
    "budget_exhausted": "yellow",
    "denied": "magenta",
    "error": "bold red",
    "cancelled": "dim",
    "blocked": "bold magenta",
    "pending": "bold yellow",
    "approved": "green",
    "edited": "green",
    "expired": "dim",
}
GAUGE_LABEL = {
    BudgetKind.STEPS: "steps",
    BudgetKind.INPUT_TOKENS: "in tok",
    BudgetKind.OUTPUT_TOKENS: "out tok",
    BudgetKind.COST: "cost $",
    BudgetKind.SECONDS: "seconds",
}
_CODE_KEYS = ("code", "source", "script", "program")
_THEME = "ansi_dark"


_STATUS_NAME = {"budget_exhausted": "over budget"}


def status(text: str) -> Text:
    return Text(_STATUS_NAME.get(text, text), style=STATUS_STYLE.get(text, ""))


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 60:
        return f"{value:.1f}s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def count(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:g}"


def money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def amount(kind: BudgetKind, value: float) -> str:
    if kind is BudgetKind.COST:
        return money(value)
    if kind is BudgetKind.SECONDS:
        return seconds(value)
    return count(value)


def clock(ts: float) -> str:
    """A wall-clock time for tables: HH:MM:SS today, else the date too (UTC)."""
    today = time.strftime("%Y-%m-%d", time.gmtime())
    day = time.strftime("%Y-%m-%d", time.gmtime(ts))
    return time.strftime("%H:%M:%S" if day == today else "%m-%d %H:%M", time.gmtime(ts))


def one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def tail(text: str, width: int = 30) -> str:
    """The end of a long path (its file name is what people look for)."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def arguments_view(tool: str, arguments: Mapping[str, Any]) -> RenderableType:
    """A readable view of a tool call's arguments: code is highlighted, a file edit is shown
    as a diff against the file on disk, anything else as indented JSON."""
    parts: list[RenderableType] = []
    rest = dict(arguments)
    for key in _CODE_KEYS:
        code = rest.get(key)
        if isinstance(code, str) and code.strip():
            language = str(rest.pop("language", "python"))
            rest.pop(key)
            parts.append(Text(f"{key} ({language}):", style="bold"))
            parts.append(
                Syntax(code.rstrip(), language, theme=_THEME, line_numbers=True, word_wrap=True)
            )
            break
    diff = _diff_of(rest)
    if diff is not None:
        parts.append(Text("change:", style="bold"))
        parts.append(Syntax(diff, "diff", theme=_THEME, word_wrap=True))
    if rest:
        text = json.dumps(rest, indent=2, ensure_ascii=False, default=str)
        parts.insert(0, Syntax(text, "json", theme=_THEME, word_wrap=True))
    if not parts:
        parts.append(Text("(no arguments)", style="dim"))
    return Group(Text(tool, style="bold"), *parts)


def _diff_of(args: dict[str, Any]) -> str | None:
    """A unified diff for edit-shaped arguments (``diff``/``patch``; ``old``/``new``; or a
    ``path`` with new ``content``); the keys it used are removed from ``args``."""
    for key in ("diff", "patch"):
        if isinstance(args.get(key), str):
            return str(args.pop(key))
    path = str(args.get("path") or args.get("file") or "file")
    pairs = (("old", "new"), ("old_text", "new_text"), ("old_string", "new_string"))
    for old_key, new_key in pairs:
        if isinstance(args.get(old_key), str) and isinstance(args.get(new_key), str):
            old, new = str(args.pop(old_key)), str(args.pop(new_key))
            return _unified(old, new, path)
    content = args.get("content")
    if isinstance(content, str) and ("path" in args or "file" in args):
        args.pop("content")
        target = Path(path)
        try:
            before = target.read_text() if target.is_file() else ""
        except (OSError, UnicodeDecodeError):
            before = ""
        return _unified(before, content, path)
    return None


def _unified(old: str, new: str, path: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(lines) or "(no change)"
