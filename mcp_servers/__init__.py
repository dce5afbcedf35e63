"""Domain MCP servers (rag, memory, sandbox, approvals), each runnable alone.

Run one with `python -m mcp_servers.<name>`.
"""
