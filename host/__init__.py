"""The agent host: supervised MCP servers, the toolbox, sessions and runs (``Host``), and the
host served over MCP. The CLI (``cli/``) and the console (``tui/``) sit above it."""
