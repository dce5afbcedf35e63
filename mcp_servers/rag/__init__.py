"""The RAG MCP server: tools ``search``, ``answer``, ``ingest``, ``get_chunk``,
``list_collections`` and the ingested documents as resources, over ``rag.RagService``."""

from mcp_servers.rag.server import build_server, main

__all__ = ["build_server", "main"]
