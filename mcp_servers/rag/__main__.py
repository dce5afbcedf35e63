from mcp_servers.rag.server import main

main()
