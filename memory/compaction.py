"""Compaction: a session's old turns become one structured note (summary, facts, open
questions, and the ids of what was dropped), so long sessions stay within a context window
without losing what they learned. The messages themselves stay in the session store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inference import ChatModel, collect
from inference.types import ChatRequest, JsonSchema, Message
from memory.notes import Note, NotesStore, Scope
from memory.sessions import NotInScope, SessionStore

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 1, "maxLength": 800},
        "facts": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 8},
        "open_questions": {
            "type": "array",
            "items": {"type": "string", "maxLength": 200},
            "maxItems": 4,
        },
    },
    "required": ["summary", "facts", "open_questions"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class SessionSummary:
    summary: str
    facts: tuple[str, ...]
    open_questions: tuple[str, ...]
    dropped: tuple[str, ...]  # ids of the compacted messages (tool call ids, or seq numbers)

    def as_text(self) -> str:
        lines = [self.summary]
        lines += [f"- {f}" for f in self.facts]
        lines += [f"? {q}" for q in self.open_questions]
        if self.dropped:
            lines.append("compacted: " + ", ".join(self.dropped))
        return "\n".join(lines)


async def summarize(
    model: ChatModel,
    messages: Sequence[Message],
    *,
    first_seq: int = 0,
    max_tokens: int = 300,
    tier: str | None = None,
) -> SessionSummary:
    """Summarise ``messages`` (the first at position ``first_seq`` of its session) with the
    model, decoding under a JSON schema."""
    transcript = "\n".join(f"{m.role}: {m.content[:500]}" for m in messages if m.content)
    request = ChatRequest(
        (
            Message.system("You write structured working notes as JSON."),
            Message.user(
                "Summarise this conversation for later. Keep names and numbers exact.\n\n"
                f"{transcript}"
            ),
        ),
        max_tokens=max_tokens,
        temperature=0.0,
        tier=tier,
        constraint=JsonSchema(SUMMARY_SCHEMA, name="session_summary"),
    )
    text = (await collect(model, request)).text
    try:
        data = json.loads(text)
        summary, facts, questions = data["summary"], data["facts"], data["open_questions"]
    except (json.JSONDecodeError, KeyError, TypeError):
        # a model that ignores the schema (no constrained decoding) still leaves a note
        summary, facts, questions = text.strip() or "(no summary)", [], []
    dropped = tuple(m.tool_call_id or f"msg{first_seq + i}" for i, m in enumerate(messages))
    return SessionSummary(summary, tuple(facts), tuple(questions), dropped)


async def summarize_session(
    sessions: SessionStore,
    notes: NotesStore,
    model: ChatModel,
    session_id: str,
    scope: Scope,
    *,
    keep_recent: int = 4,
) -> Note:
    """Summarise a stored session's turns (all but the last ``keep_recent``) into a note keyed
    ``session:<id>:summary`` in ``scope``."""
    state = sessions.load(session_id)
    if (state.principal.tenant, state.principal.user) != (scope.tenant, scope.user):
        raise NotInScope(f"session {session_id} belongs to another tenant or user")
    old = (
        state.messages[1:-keep_recent]
        if len(state.messages) > keep_recent + 1
        else state.messages[1:]
    )
    result = await summarize(model, old, first_seq=1)
    return notes.remember(
        scope,
        result.as_text(),
        key=f"session:{session_id}:summary",
        tags=("session-summary",),
        source_session=session_id,
    )
