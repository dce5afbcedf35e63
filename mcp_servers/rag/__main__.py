"""``python -m mcp_servers.rag [--http] [--config agenthost.toml]``"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from mcp_servers.rag.server import build_server
from mcp_servers.rag.settings import load_server_settings
from rag.service import RagService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_servers.rag", description=__doc__)
    parser.add_argument("--config", type=Path, help="agenthost.toml to read [rag] from")
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    try:
        settings = load_server_settings(args.config)
    except ValidationError as exc:
        print(f"error: bad configuration: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    service = RagService(settings.rag_dir, settings.rag, settings.inference, settings.logs_dir)
    server = build_server(service, settings.ingest_roots)
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
