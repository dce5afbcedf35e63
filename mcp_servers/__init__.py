"""Domain MCP servers (rag, memory, sandbox, approvals), each runnable alone. Not built yet."""
