"""Domain MCP servers (rag, memory, sandbox, approvals), each runnable alone: `python -m mcp_servers.<name>`."""
