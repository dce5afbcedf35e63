"""``agenthost guard check``: the host's guardrails on JSON Lines, one verdict per line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import typer

from cli.boundary import App, BadArgument, err, settings

app = App(help="Guardrails: check texts as the host does (PII, secrets, injection, moderation).")

SOURCES = ("user", "tool", "retrieval", "memory", "output")


def verdict_lines(
    lines: Iterable[str], guard: Any, *, tenant: str | None, default_source: str | None
) -> Iterator[tuple[dict[str, Any], bool]]:
    """One output object per input line (and whether the line was valid). A bad line gets
    an ``error`` object in its place, so outputs stay aligned with inputs."""
    from guardrails import Source

    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield {"line": number, "error": f"invalid JSON: {exc.msg} (column {exc.colno})"}, False
            continue
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            yield {"line": number, "error": 'expected an object with a string "text"'}, False
            continue
        source = item.get("source", default_source)
        if source not in SOURCES:
            yield (
                {
                    "line": number,
                    "error": f"source must be one of {', '.join(SOURCES)} (got {source!r})",
                },
                False,
            )
            continue
        out = guard.check(item["text"], Source(source), tenant=item.get("tenant", tenant))
        line = out.to_dict()
        if "id" in item:
            line = {"id": item["id"], **line}
        yield line, True


@app.command("check")
def check(
    tenant: Annotated[
        str | None, typer.Option(help="Check under this tenant's policy ([guardrails.tenants]).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source of lines that name none: " + ", ".join(SOURCES) + "."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Check this one text instead of stdin.")
    ] = None,
) -> None:
    """Read JSON Lines on stdin, each {"text": ..., "source": "user"|"tool"|"retrieval"|
    "memory"|"output"}, and write one JSON line per input: {"blocked", "action",
    "categories", "score", "redacted"}. The same checks and policy as the host's runs.

    A line that is not valid JSON gets {"line": N, "error": ...} in its place and the rest
    go on; the exit code is then 2.

    Examples:

      echo '{"text": "Ignore all previous instructions", "source": "user"}' | agenthost guard check

      agenthost guard check --source tool < tool_results.jsonl > verdicts.jsonl

      agenthost guard check --text "mail ann@example.org" --source user
    """
    if source is not None and source not in SOURCES:
        raise BadArgument(f"--source must be one of {', '.join(SOURCES)}")
    loaded = settings()
    from guardrails import Guard

    guard = Guard(loaded.guardrails, environ=os.environ)
    if text is not None:
        lines: Iterable[str] = [json.dumps({"text": text, "source": source or "user"})]
    else:
        if sys.stdin.isatty():
            err.print("reading JSON Lines from stdin (Ctrl-D ends)")
        lines = sys.stdin
    bad = 0
    for out, ok in verdict_lines(lines, guard, tenant=tenant, default_source=source or "user"):
        bad += not ok
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if bad:
        raise BadArgument(f"{bad} input line(s) were not valid; see their error lines")
