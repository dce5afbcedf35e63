"""A thin MCP layer over ``sandbox``: run code, move files, manage sessions.

Run it alone with ``python -m mcp_servers.sandbox [--transport stdio|streamable-http]``. It
reads the ``[sandbox]`` table and ``home`` of agenthost.toml (``--config``) but never imports
``host``. Callers may shorten a run's wall-clock limit, never lengthen one.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import tomllib
from pathlib import Path
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from sandbox import (
    FileInfo,
    IsolationUnavailable,
    Limits,
    ExecResult,
    Sandbox,
    SandboxConfig,
    SandboxError,
    open_sandbox,
)
from sandbox.types import Language

Encoding = Literal["utf-8", "base64"]
SESSION_HELP = "session id: files persist between calls of one session"


class FileEntry(BaseModel):
    path: str
    size: int

    @classmethod
    def of(cls, info: FileInfo) -> FileEntry:
        return cls(path=info.path, size=info.size)


class RunOutput(BaseModel):
    """What a run printed and how it ended; ``limit`` names the limit that stopped it."""

    stdout: str
    stderr: str
    exit_code: int | None
    signal: int | None
    limit: str | None = Field(description="wall_time, cpu_time, memory, processes, ...")
    truncated: bool
    duration_s: float
    files: list[FileEntry] = Field(description="files the run created or changed")
    isolation: str

    @classmethod
    def of(cls, result: ExecResult) -> RunOutput:
        return cls(
            stdout=result.stdout,
            stderr=result.stderr,
            exit_code=result.exit_code,
            signal=result.signal,
            limit=result.limit.value if result.limit else None,
            truncated=result.truncated,
            duration_s=result.duration_s,
            files=[FileEntry.of(f) for f in result.files],
            isolation=result.isolation,
        )


class FileContent(BaseModel):
    path: str
    size: int
    encoding: Encoding
    content: str


def build_server(box: Sandbox, limits: Limits | None = None) -> MCPServer:
    """The MCP server over ``box``; ``limits`` are the most any call may use."""
    ceiling = limits or Limits()
    server = MCPServer(
        "agenthost-sandbox",
        instructions="Runs Python and shell code with no network access, in a working "
        "directory that persists per session. Only that directory is writable.",
    )

    async def run(
        code: str, language: Language, session: str, timeout_s: float | None
    ) -> RunOutput:
        wall = min(timeout_s, ceiling.wall_time_s) if timeout_s else ceiling.wall_time_s
        try:
            result = await box.run(
                code,
                language=language,
                session=session,
                limits=ceiling.model_copy(update={"wall_time_s": wall}),
            )
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        return RunOutput.of(result)

    @server.tool()
    async def run_python(
        code: str, session: str = "default", timeout_s: float | None = None
    ) -> RunOutput:
        """Run a Python 3 program in the session's directory; print what you want to see."""
        return await run(code, "python", session, timeout_s)

    @server.tool()
    async def run_shell(
        command: str, session: str = "default", timeout_s: float | None = None
    ) -> RunOutput:
        """Run a POSIX shell script (/bin/sh) in the session's directory."""
        return await run(command, "shell", session, timeout_s)

    @server.tool()
    async def upload_file(
        path: str, content: str, session: str = "default", encoding: Encoding = "utf-8"
    ) -> FileEntry:
        """Write a file (path relative to the session directory); base64 for binary data."""
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except binascii.Error as exc:
                raise ToolError(f"content is not valid base64: {exc}") from exc
        else:
            data = content.encode()
        try:
            info = await box.upload(session, path, data)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        return FileEntry.of(info)

    @server.tool()
    async def download_file(
        path: str, session: str = "default", encoding: Encoding = "utf-8"
    ) -> FileContent:
        """Read a file from the session directory; ask for base64 if it is not text."""
        try:
            data = await box.download(session, path)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        if encoding == "base64":
            text = base64.b64encode(data).decode("ascii")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ToolError(f"{path} is not UTF-8 text; ask with encoding='base64'") from exc
        return FileContent(path=path, size=len(data), encoding=encoding, content=text)

    @server.tool()
    async def list_files(session: str = "default") -> list[FileEntry]:
        """Every regular file in the session directory, with its size."""
        try:
            return [FileEntry.of(f) for f in await box.list_files(session)]
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    async def reset_session(session: str = "default") -> str:
        """Delete every file of the session."""
        try:
            await box.reset(session)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        return f"session {session} is empty"

    return server


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "agenthost"


def load_config(config: Path | None, home: Path | None) -> tuple[SandboxConfig, Path]:
    """The ``[sandbox]`` table and home from agenthost.toml; ``--home`` and AGENTHOST_HOME win."""
    table: dict[str, object] = {}
    if config is not None:
        with config.open("rb") as f:
            table = tomllib.load(f)
    raw_home = home or os.environ.get("AGENTHOST_HOME") or table.get("home")
    resolved = Path(str(raw_home)).expanduser() if raw_home else _default_home()
    return SandboxConfig.model_validate(table.get("sandbox", {})), resolved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_servers.sandbox", description=__doc__)
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="streamable-http: address")
    parser.add_argument("--port", type=int, default=8000, help="streamable-http: port")
    parser.add_argument("--config", type=Path, help="agenthost.toml to read [sandbox] from")
    parser.add_argument("--home", type=Path, help="agenthost home (scratch dirs live under it)")
    args = parser.parse_args(argv)
    try:
        config, home = load_config(args.config, args.home)
        box = open_sandbox(config, home)
    except (OSError, tomllib.TOMLDecodeError, ValueError, IsolationUnavailable) as exc:
        print(f"agenthost sandbox: {exc}", file=sys.stderr)
        return 2
    server = build_server(box, config.limits)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port)
    return 0
