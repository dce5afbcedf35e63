from __future__ import annotations

from mcp_servers.sandbox.server import main

raise SystemExit(main())
