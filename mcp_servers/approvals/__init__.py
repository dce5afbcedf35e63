"""The approvals MCP server: decide pending approval requests from any MCP client."""
