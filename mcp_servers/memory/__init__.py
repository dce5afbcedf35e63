"""The memory MCP server: durable notes with keyword and semantic recall."""
