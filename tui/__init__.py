"""The Textual operator console (``agenthost tui``): runs, live run view, approvals, trace,
MCP servers, memory and knowledge; see docs/tui.md."""
