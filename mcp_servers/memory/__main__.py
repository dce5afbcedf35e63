from mcp_servers.memory.server import main

main()
