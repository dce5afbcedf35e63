"""A thin MCP layer over ``sandbox``: run code, move files, manage sessions.

    python -m mcp_servers.sandbox                         # stdio
    python -m mcp_servers.sandbox --transport http        # http://127.0.0.1:8769/mcp
    python -m mcp_servers.sandbox --config agenthost.toml

It reads ``[sandbox]`` and ``home`` of the configuration (``--config``, else
``$AGENTHOST_CONFIG``, ``./agenthost.toml``, ``$AGENTHOST_HOME/agenthost.toml``) and
``AGENTHOST_*`` (``AGENTHOST_HOME``, ``AGENTHOST_SANDBOX__ISOLATION=unshare``, ...), but never
imports ``host``. Scratch directories live under ``sandbox.scratch_root``, default
``<home>/sandbox``. If no isolation works it refuses to start (exit status 3). Callers may
shorten a run's wall-clock limit, never lengthen one. Sessions are per principal: the one the
host sends with each call (``_meta``), or over HTTP the caller's key's (``acting_for``), so
two users' ``default`` sessions never share files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from core.principal import Principal
from mcp_servers.serving import acting_for, arguments, start, tool_errors
from sandbox import ExecResult, FileInfo, Limits, Sandbox, open_sandbox
from sandbox.types import Language
from settings import Settings

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


PROCESS = Principal()  # a call that names nobody: the process's own sessions, as before


def owned(ctx: Context, session: str) -> str:
    """The session directory's name for whom the call is for (``acting_for``): sessions are
    per principal, so two users' ``default`` sessions never share files. A call for nobody in
    particular (stdio without a principal) keeps the plain name."""
    who = acting_for(ctx, PROCESS)
    if who == PROCESS:
        return session
    if len(session) > 51:
        raise ToolError(f"session id {session[:20]!r}... is longer than 51 characters")
    owner = hashlib.sha256(f"{who.tenant}/{who.user}".encode()).hexdigest()[:12]
    return f"{owner}-{session}"


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
        with tool_errors():
            result = await box.run(
                code,
                language=language,
                session=session,  # already the caller's (namespaced)
                limits=ceiling.model_copy(update={"wall_time_s": wall}),
            )
        return RunOutput.of(result)

    @server.tool()
    async def run_python(
        ctx: Context, code: str, session: str = "default", timeout_s: float | None = None
    ) -> RunOutput:
        """Run a Python 3 program in the session's directory; print what you want to see."""
        return await run(code, "python", owned(ctx, session), timeout_s)

    @server.tool()
    async def run_shell(
        ctx: Context, command: str, session: str = "default", timeout_s: float | None = None
    ) -> RunOutput:
        """Run a POSIX shell script (/bin/sh) in the session's directory."""
        return await run(command, "shell", owned(ctx, session), timeout_s)

    @server.tool()
    async def upload_file(
        ctx: Context,
        path: str,
        content: str,
        session: str = "default",
        encoding: Encoding = "utf-8",
    ) -> FileEntry:
        """Write a file (path relative to the session directory); base64 for binary data."""
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except binascii.Error as exc:
                raise ToolError(f"content is not valid base64: {exc}") from exc
        else:
            data = content.encode()
        with tool_errors():
            info = await box.upload(owned(ctx, session), path, data)
        return FileEntry.of(info)

    @server.tool()
    async def download_file(
        ctx: Context, path: str, session: str = "default", encoding: Encoding = "utf-8"
    ) -> FileContent:
        """Read a file from the session directory; ask for base64 if it is not text."""
        with tool_errors():
            data = await box.download(owned(ctx, session), path)
        if encoding == "base64":
            text = base64.b64encode(data).decode("ascii")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ToolError(f"{path} is not UTF-8 text; ask with encoding='base64'") from exc
        return FileContent(path=path, size=len(data), encoding=encoding, content=text)

    @server.tool()
    async def list_files(ctx: Context, session: str = "default") -> list[FileEntry]:
        """Every regular file in the session directory, with its size."""
        with tool_errors():
            return [FileEntry.of(f) for f in await box.list_files(owned(ctx, session))]

    @server.tool()
    async def reset_session(ctx: Context, session: str = "default") -> str:
        """Delete every file of the session."""
        with tool_errors():
            await box.reset(owned(ctx, session))
        return f"session {session} is empty"

    return server


def main(argv: list[str] | None = None) -> None:
    parser = arguments("sandbox", __doc__)
    parser.add_argument(
        "--home", type=Path, help="agenthost home, overriding AGENTHOST_HOME and the config"
    )
    args = parser.parse_args(argv)

    def build(settings: Settings) -> MCPServer:
        return build_server(open_sandbox(settings.sandbox, settings.home), settings.sandbox.limits)

    overrides = {"home": args.home} if args.home is not None else {}
    start("sandbox", args, build, **overrides)
