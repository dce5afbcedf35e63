"""Retrieval-augmented generation: ingest documents, search them (hybrid BM25 + embeddings),
and answer from them with citations. ``Knowledge`` is the store; ``RagService`` adds the
inference layer and the process's principal for the CLI and the MCP server.

The names below are imported on first use (``core.lazy``): ``settings`` reads ``rag.config``
and the MCP server ``rag.types`` without loading numpy, tantivy or the extractors."""

from typing import TYPE_CHECKING

from core.lazy import exports

if TYPE_CHECKING:
    from rag.answer import Answerer
    from rag.config import RagConfig
    from rag.errors import RagError
    from rag.expand import QueryExpander
    from rag.knowledge import Knowledge
    from rag.service import RagService
    from rag.types import Answer, Expansion, Filters, Hit, Principal, SearchResult
else:
    __getattr__, __dir__ = exports(
        __name__,
        {
            "rag.answer": ["Answerer"],
            "rag.config": ["RagConfig"],
            "rag.errors": ["RagError"],
            "rag.expand": ["QueryExpander"],
            "rag.knowledge": ["Knowledge"],
            "rag.service": ["RagService"],
            "rag.types": ["Answer", "Expansion", "Filters", "Hit", "Principal", "SearchResult"],
        },
    )

__all__ = [
    "Answer",
    "Answerer",
    "Expansion",
    "Filters",
    "Hit",
    "Knowledge",
    "Principal",
    "QueryExpander",
    "RagConfig",
    "RagError",
    "RagService",
    "SearchResult",
]
