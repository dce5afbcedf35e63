"""The RAG error hierarchy: every failure a user can act on is a ``RagError``."""

from __future__ import annotations


class RagError(Exception):
    """Base of every retrieval/ingestion error; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class RagConfigError(RagError):
    """Bad configuration, or the embedding model package is missing."""

    exit_code = 2


class InvalidArgument(RagError):
    """A call's argument has a value the library does not know (a mode, an expansion...)."""

    exit_code = 2


class ExtractionError(RagError):
    """A file could not be read or parsed."""


class IndexBusy(RagError):
    """Another process holds the index's writer lock (an ingest is running)."""

    exit_code = 5


class UnknownCollection(RagError):
    """The collection does not exist (or is not visible to this tenant)."""

    exit_code = 4


class ChunkNotFound(RagError):
    """No chunk with that id is visible to this tenant."""

    exit_code = 4
