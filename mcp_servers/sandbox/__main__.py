from mcp_servers.sandbox.server import main

main()
