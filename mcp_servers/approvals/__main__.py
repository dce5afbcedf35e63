from mcp_servers.approvals.server import main

main()
