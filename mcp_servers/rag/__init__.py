"""The RAG MCP server: tools ``search``, ``answer``, ``ingest``, ``get_chunk``,
``list_collections`` and the ingested documents as resources, over ``rag.RagService``."""

from mcp_servers.rag.server import build_server
from mcp_servers.rag.settings import ServerSettings, load_server_settings

__all__ = ["ServerSettings", "build_server", "load_server_settings"]
