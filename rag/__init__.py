"""Retrieval-augmented generation: ingest documents, search them (hybrid BM25 + embeddings),
and answer from them with citations. ``Knowledge`` is the store; ``RagService`` adds the
inference layer and the process's principal for the CLI and the MCP server."""

from rag.answer import Answerer
from rag.config import RagConfig
from rag.errors import RagError
from rag.expand import QueryExpander
from rag.knowledge import Knowledge
from rag.service import RagService
from rag.types import Answer, Expansion, Filters, Hit, Principal, SearchResult

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
