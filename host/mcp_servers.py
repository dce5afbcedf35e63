"""MCP servers the host starts and supervises: stdio (a command) or streamable HTTP (a URL).

Each server has a supervisor task that connects, lists tools, and watches the connection. A
crash (the connection closes) or a hang (a call times out and a ping then fails too) ends the
connection; the supervisor reconnects with exponential backoff. Calls made meanwhile wait a
moment for the server to come back, then fail with ``ServerUnavailable``, which the toolbox
turns into a tool error the model can read: the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskStatus
from mcp import types
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from agents.tools import OnProgress
from core.errors import Unavailable
from settings.host import ServerConfig

log = logging.getLogger("agenthost.mcp")


class ServerState(StrEnum):
    STARTING = "starting"
    UP = "up"
    RESTARTING = "restarting"
    STOPPED = "stopped"


class ServerUnavailable(Unavailable):
    """The server is down or restarting; the call was not made (or its answer was lost)."""


class ToolTimeout(Unavailable):
    """The server did not answer within the call timeout."""


@dataclass(frozen=True)
class RemoteTool:
    server: str
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool = False  # the server's annotations, as hints: only what it set explicitly
    idempotent: bool = False
    destructive: bool = False


ToolsChanged = Callable[["ManagedServer"], None]


class ManagedServer:
    """A supervised connection to one MCP server."""

    def __init__(
        self,
        name: str,
        config: ServerConfig,
        *,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
        on_tools_changed: ToolsChanged | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.log_dir = log_dir
        # a stdio server gets the host's home and configuration (Settings.child_env), then
        # its own ``env`` from the config on top
        self.env = dict(env or {})
        self.on_tools_changed = on_tools_changed
        self.state = ServerState.STARTING
        self.tools: list[RemoteTool] = []
        self.generation = 0  # bumped on every (re)connect: the tool-result cache keys on it
        self.tools_version = 0  # bumped whenever ``tools`` is replaced (connect, re-list)
        self.restarts = 0
        self.last_error = ""
        self.errors: list[tuple[float, str]] = []
        self._client: Client | None = None
        self._ready = anyio.Event()
        self._dead = anyio.Event()
        self._relist = anyio.Event()
        self._closing = False
        self._restart_now = anyio.Event()

    # ---- lifecycle ------------------------------------------------------------------

    async def supervise(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until ``stop``: connect, watch, reconnect with backoff. Reports started once the
        first connection attempt ended (up or failed), so the host starts without blocking on
        a broken server."""
        backoff = self.config.backoff_initial_s
        reported = False
        while not self._closing:
            up = anyio.Event()
            try:
                # the watchdog bounds the start: the client must be entered and exited in this
                # task, so a timeout cannot wrap the connect call itself
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_watchdog, up, self.config.start_timeout_s, tg.cancel_scope)
                    async with self._connect() as client:
                        await self._on_connected(client)
                        up.set()
                        backoff = self.config.backoff_initial_s
                        if not reported:
                            task_status.started()
                            reported = True
                        await self._watch(client)
                    tg.cancel_scope.cancel()
                if not up.is_set():
                    self._note_error(f"did not start within {self.config.start_timeout_s:g}s")
            except Exception as exc:  # any failure of the connection is a reason to restart
                self._note_error(_describe(exc))
            finally:
                self._client = None
                if self._ready.is_set():
                    self._ready = anyio.Event()
            if not reported:
                task_status.started()
                reported = True
            if self._closing:
                break
            self.state = ServerState.RESTARTING
            self.restarts += 1
            log.warning(
                "MCP server %s down (%s); restarting in %.2fs", self.name, self.last_error, backoff
            )
            with anyio.move_on_after(backoff):
                await self._restart_now.wait()
            self._restart_now = anyio.Event()
            backoff = min(backoff * 2, self.config.backoff_max_s)
        self.state = ServerState.STOPPED

    async def _on_connected(self, client: Client) -> None:
        tools = await _list_all(client)
        self._set_tools(tools)
        self.generation += 1
        self._client = client
        self._dead = anyio.Event()
        self.state = ServerState.UP
        self._ready.set()
        log.info(
            "MCP server %s up (generation %d, %d tools)", self.name, self.generation, len(tools)
        )
        if self.on_tools_changed:
            self.on_tools_changed(self)

    async def _watch(self, client: Client) -> None:
        """Wait until the connection is declared dead; meanwhile ping and re-list tools."""
        async with anyio.create_task_group() as tg:

            async def pinger() -> None:
                while True:
                    await anyio.sleep(self.config.ping_interval_s)
                    await self._probe(client)

            async def relister() -> None:
                while True:
                    await self._relist.wait()
                    self._relist = anyio.Event()
                    with anyio.fail_after(self.config.call_timeout_s):
                        tools = await _list_all(client)
                    self._set_tools(tools)
                    if self.on_tools_changed:
                        self.on_tools_changed(self)

            async def listener() -> None:
                # 2026-07-28 servers announce changes on a subscription stream; older ones
                # send notifications/tools/list_changed, which _on_message handles
                try:
                    async with client.listen(tools_list_changed=True) as subscription:
                        async for _event in subscription:
                            self._relist.set()
                except ListenNotSupportedError:
                    return
                except Exception as exc:
                    log.info("MCP server %s: no change subscription: %s", self.name, exc)

            tg.start_soon(pinger)
            tg.start_soon(relister)
            tg.start_soon(listener)
            await self._dead.wait()
            tg.cancel_scope.cancel()

    async def _probe(self, client: Client) -> None:
        try:
            # ping is gone from the 2026-07-28 protocol; listing tools works with every server
            with anyio.fail_after(min(5.0, self.config.call_timeout_s)):
                await client.list_tools(cache_mode="refresh")
        except Exception as exc:
            self._note_error(f"ping failed: {_describe(exc)}")
            self._mark_dead()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Client]:
        cfg = self.config
        async with AsyncExitStack() as stack:
            transport: Any
            if cfg.command is not None:
                errlog = self._errlog(stack)
                params = StdioServerParameters(
                    command=cfg.command, args=cfg.args, env=self.env | cfg.env, cwd=cfg.cwd
                )
                transport = stdio_client(params, errlog=errlog)
            else:
                assert cfg.url is not None
                http = await stack.enter_async_context(create_mcp_http_client(headers=cfg.headers))
                transport = streamable_http_client(cfg.url, http_client=http)
            client = Client(transport, message_handler=self._on_message, cache=None)
            await stack.enter_async_context(client)
            yield client

    def _errlog(self, stack: AsyncExitStack) -> Any:
        import sys

        if self.log_dir is None:
            return sys.stderr
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return stack.enter_context(open(self.log_dir / f"mcp-{self.name}.log", "a"))

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self._note_error(f"transport: {_describe(message)}")
            return
        if isinstance(message, types.ToolListChangedNotification):
            self._relist.set()

    def _set_tools(self, tools: list[types.Tool]) -> None:
        self.tools = [_remote(self.name, t) for t in tools]
        self.tools_version += 1

    def _note_error(self, text: str) -> None:
        self.last_error = text
        self.errors.append((time.time(), text))
        del self.errors[:-20]

    def _mark_dead(self) -> None:
        """Declare the connection dead now: new calls wait for the reconnect instead of
        reaching for the old client."""
        if self._client is not None:
            self._client = None
            self.state = ServerState.RESTARTING
            self._ready = anyio.Event()
        self._dead.set()

    async def restart(self) -> None:
        """Drop the connection now and reconnect at once (an operator's restart)."""
        self._mark_dead()
        self._restart_now.set()

    def stop(self) -> None:
        self._closing = True
        self._dead.set()
        self._restart_now.set()

    # ---- calls ----------------------------------------------------------------------

    async def wait_ready(self, within_s: float) -> Client | None:
        if self._client is not None and self.state is ServerState.UP:
            return self._client
        with anyio.move_on_after(within_s):
            await self._ready.wait()
        return self._client

    async def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        limit_s: float | None = None,
        on_progress: OnProgress | None = None,
        meta: dict[str, Any] | None = None,
    ) -> types.CallToolResult:
        """Call a tool; its progress notifications reach ``on_progress``; ``meta`` goes in
        the request's ``_meta`` (the run's principal, for servers that scope by it)."""
        limit = limit_s or self.config.call_timeout_s
        client = await self._ready_client(limit)
        try:
            with anyio.fail_after(limit):
                return await client.call_tool(
                    tool,
                    arguments,
                    progress_callback=on_progress,
                    meta=meta,  # type: ignore[arg-type]
                )
        except TimeoutError:
            self._note_error(f"{tool} timed out after {limit:g}s")
            await self._probe(client)  # hung, or just slow? a dead server gets restarted
            raise ToolTimeout(f"{self.name}.{tool} did not answer within {limit:g}s") from None
        except MCPError as exc:
            if exc.error.code == types.CONNECTION_CLOSED:
                self._note_error(f"connection closed during {tool}")
                self._mark_dead()
                raise ServerUnavailable(
                    f"MCP server {self.name!r} closed the connection during the call "
                    "(it is being restarted)"
                ) from exc
            raise
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            self._note_error(f"{tool}: {_describe(exc)}")
            self._mark_dead()
            raise ServerUnavailable(
                f"MCP server {self.name!r} is unreachable: {_describe(exc)}"
            ) from exc

    async def _ready_client(self, limit_s: float) -> Client:
        client = await self.wait_ready(min(limit_s, self.config.start_timeout_s))
        if client is None:
            why = f": {self.last_error}" if self.last_error else ""
            raise ServerUnavailable(f"MCP server {self.name!r} is {self.state.value}{why}")
        return client

    # ---- resources and prompts ------------------------------------------------------

    def _offers(self, capability: str) -> bool:
        caps = self._client.server_capabilities if self._client is not None else None
        return caps is not None and getattr(caps, capability, None) is not None

    async def resources(self) -> list[types.Resource]:
        """The server's resources (all pages); [] when it offers none."""
        client = await self._ready_client(self.config.call_timeout_s)
        if not self._offers("resources"):
            return []
        with anyio.fail_after(self.config.call_timeout_s):
            return await _pages(lambda c: client.list_resources(cursor=c), "resources")

    async def read_resource(
        self, uri: str, *, meta: dict[str, Any] | None = None
    ) -> types.ReadResourceResult:
        """``uri``'s contents; ``meta`` goes in the request's ``_meta`` (as for ``call``)."""
        client = await self._ready_client(self.config.call_timeout_s)
        with anyio.fail_after(self.config.call_timeout_s):
            return await client.read_resource(uri, meta=meta)  # type: ignore[arg-type]

    async def prompts(self) -> list[types.Prompt]:
        """The server's prompts (all pages); [] when it offers none."""
        client = await self._ready_client(self.config.call_timeout_s)
        if not self._offers("prompts"):
            return []
        with anyio.fail_after(self.config.call_timeout_s):
            return await _pages(lambda c: client.list_prompts(cursor=c), "prompts")

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> types.GetPromptResult:
        client = await self._ready_client(self.config.call_timeout_s)
        with anyio.fail_after(self.config.call_timeout_s):
            return await client.get_prompt(name, arguments)


async def _pages(list_page: Callable[..., Any], field: str) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        page = await list_page(cursor)
        items += getattr(page, field)
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


async def _watchdog(up: anyio.Event, limit_s: float, scope: anyio.CancelScope) -> None:
    with anyio.move_on_after(limit_s):
        await up.wait()
    if not up.is_set():
        scope.cancel()


async def _list_all(client: Client) -> list[types.Tool]:
    async def page(cursor: str | None) -> types.ListToolsResult:
        return await client.list_tools(cursor=cursor, cache_mode="refresh")

    return await _pages(page, "tools")


def _remote(server: str, tool: types.Tool) -> RemoteTool:
    hints = tool.annotations
    return RemoteTool(
        server,
        tool.name,
        tool.description or "",
        dict(tool.input_schema),
        read_only=bool(hints and hints.read_only_hint),
        idempotent=bool(hints and hints.idempotent_hint),
        destructive=bool(hints and hints.destructive_hint),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if str(exc) else text
