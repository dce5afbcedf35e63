"""The RAG error hierarchy: every failure a user can act on is a ``RagError``."""

from __future__ import annotations

import core.errors as core


class RagError(core.AgentHostError):
    """Base of every retrieval/ingestion error (its category sets the exit code)."""


class RagConfigError(RagError, core.ConfigError):
    """Bad configuration, or the embedding model package is missing."""


class InvalidArgument(RagError, core.InvalidRequest):
    """A call's argument has a value the library does not know (a mode, an expansion...)."""


class ExtractionError(RagError):
    """A file could not be read or parsed."""


class IndexBusy(RagError, core.Unavailable):
    """Another process holds the index's writer lock (an ingest is running)."""


class UnknownCollection(RagError, core.InvalidRequest):
    """The collection does not exist (or is not visible to this tenant)."""


class ChunkNotFound(RagError, core.InvalidRequest):
    """No chunk with that id is visible to this tenant."""
