"""The agent host: configuration, the CLI, and (next) MCP supervision, sessions and policy."""
