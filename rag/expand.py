"""Query expansion through the inference layer: multi-query (the model rephrases the query, each
rephrasing is searched and every ranking is fused) and HyDE (the model writes a hypothetical
passage whose embedding searches the dense index).

Expansion is an aid, not a dependency: when the model fails or writes nothing usable the
``Expansion`` carries a note and the search runs on the query alone."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, ValidationError

from inference import ChatRequest, InferenceError, JsonSchema, Message
from rag.config import ExpansionConfig
from rag.llm import ChatModel, generate
from rag.types import Expand, Expansion

_MULTI_SYSTEM = (
    "Rewrite the question as {n} different search queries that use other words for the same "
    "thing. Reply in JSON."
)
# One worked example: small models copy its shape (several distinct, keyword-rich queries)
# far more reliably than they follow the instruction alone.
_EXAMPLE_Q = "How do I stop a loop early?"
_EXAMPLE_A = json.dumps(
    {
        "queries": [
            "break statement exits a for or while loop",
            "terminate a loop before it finishes",
            "leave the innermost loop",
        ]
    }
)
_HYDE_SYSTEM = (
    "Write a short passage, as it would appear in the documentation, that answers the "
    "question. Write only the passage."
)


class _Rephrasings(BaseModel):
    queries: list[str] = Field(min_length=1)


def _schema(n: int) -> JsonSchema:
    item = {"type": "string", "minLength": 3, "maxLength": 160}
    array = {"type": "array", "items": item, "minItems": 1, "maxItems": n}
    return JsonSchema(
        {"type": "object", "properties": {"queries": array}, "required": ["queries"]}, "queries"
    )


class QueryExpander:
    """Expands a query with the configured model; ``expand`` never raises for model failures."""

    def __init__(
        self, model: ChatModel, config: ExpansionConfig | None = None, *, tier: str | None = None
    ) -> None:
        self.model = model
        self.config = config or ExpansionConfig()
        self.tier = self.config.tier or tier

    async def expand(self, query: str, how: Expand) -> Expansion:
        if how == "none":
            return Expansion(how="none")
        try:
            if how == "multi":
                queries = await self.rephrase(query)
                if not queries:
                    return _fallback(how, "the model wrote no rephrasing that differs from it")
                return Expansion(how=how, queries=queries)
            passage = await self.hypothesize(query)
            if not passage:
                return _fallback(how, "the model wrote an empty passage")
            return Expansion(how=how, passage=passage)
        except InferenceError as exc:
            return _fallback(how, f"the model failed ({type(exc).__name__}: {exc})")
        except ValidationError as exc:  # invalid JSON too (a reply cut off by max_tokens)
            reason = exc.errors()[0]["msg"]
            return _fallback(how, f"the model's rephrasings did not parse ({reason})")

    async def rephrase(self, query: str) -> list[str]:
        """Up to ``config.queries`` distinct rephrasings, the query itself left out."""
        n = self.config.queries
        request = ChatRequest(
            (
                Message.system(_MULTI_SYSTEM.format(n=n)),
                Message.user(_EXAMPLE_Q),
                Message.assistant(_EXAMPLE_A),
                Message.user(query),
            ),
            max_tokens=self.config.max_tokens,
            temperature=0.0,
            constraint=_schema(n),
            tier=self.tier,
        )
        text = await generate(self.model, request)
        parsed = _Rephrasings.model_validate_json(text)
        seen = {_key(query)}
        out: list[str] = []
        for q in parsed.queries:
            q = " ".join(q.split())
            if q and _key(q) not in seen:
                seen.add(_key(q))
                out.append(q)
        return out[:n]

    async def hypothesize(self, query: str) -> str:
        """A hypothetical answer passage (HyDE), one paragraph, cut to ``passage_chars``."""
        request = ChatRequest(
            (Message.system(_HYDE_SYSTEM), Message.user(query)),
            max_tokens=self.config.max_tokens,
            temperature=0.0,
            stop=("\n\n",),
            tier=self.tier,
        )
        text = (await generate(self.model, request)).strip()
        # one paragraph, also from a backend that does not honour stop sequences
        paragraph = " ".join(text.split("\n\n")[0].split())
        return paragraph[: self.config.passage_chars]


def _key(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?.!")


def _fallback(how: Expand, reason: str) -> Expansion:
    return Expansion(how=how, note=f"{how} expansion skipped: {reason}; searched the query alone")
