"""Connected servers' resources and prompts: listed for operators and agents, a prompt used
as a run's template, a resource attached to a run (its text goes with the task).

References name the server first: ``everything:demo://resource/static/document/features.md``
for a resource, ``everything:args-prompt`` for a prompt (server names hold no ``:``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mcp import types
from mcp.shared.exceptions import MCPError

from agents.request import RunRequest
from core.errors import InvalidRequest
from host.mcp_servers import ManagedServer, ServerState
from host.toolbox import NO_CONTEXT, CallContext

# an attached resource's text is cut here: the model's window is small, a resource need not be
MAX_ATTACHED_CHARS = 8000


@dataclass(frozen=True)
class ResourceInfo:
    server: str
    uri: str
    name: str
    description: str = ""
    mime_type: str = ""

    @property
    def ref(self) -> str:
        return f"{self.server}:{self.uri}"


@dataclass(frozen=True)
class PromptInfo:
    server: str
    name: str
    description: str = ""
    arguments: tuple[tuple[str, bool], ...] = ()  # (name, required)

    @property
    def ref(self) -> str:
        return f"{self.server}:{self.name}"


def split_ref(ref: str, what: str) -> tuple[str, str]:
    server, sep, rest = ref.partition(":")
    if not sep or not server or not rest:
        raise InvalidRequest(f"{what} {ref!r} must be SERVER:{what.upper()}, e.g. everything:...")
    return server, rest


def _server(servers: Mapping[str, ManagedServer], name: str) -> ManagedServer:
    try:
        return servers[name]
    except KeyError:
        known = ", ".join(sorted(servers)) or "none configured"
        raise InvalidRequest(f"unknown MCP server {name!r} (servers: {known})") from None


async def list_resources(servers: Mapping[str, ManagedServer]) -> list[ResourceInfo]:
    """Every up server's resources, by server then URI."""
    out: list[ResourceInfo] = []
    for server in _up(servers):
        for r in await server.resources():
            info = ResourceInfo(
                server.name, str(r.uri), r.name, r.description or "", r.mime_type or ""
            )
            out.append(info)
    return sorted(out, key=lambda r: (r.server, r.uri))


async def list_prompts(servers: Mapping[str, ManagedServer]) -> list[PromptInfo]:
    out: list[PromptInfo] = []
    for server in _up(servers):
        for p in await server.prompts():
            args = tuple((a.name, bool(a.required)) for a in p.arguments or ())
            out.append(PromptInfo(server.name, p.name, p.description or "", args))
    return sorted(out, key=lambda p: (p.server, p.name))


async def read_resource(
    servers: Mapping[str, ManagedServer], ref: str, context: CallContext = NO_CONTEXT
) -> str:
    """A resource's text (binary parts described, not inlined), read for ``context``'s
    principal and request (in the request's ``_meta``, as a tool call's: our servers scope
    the read by it)."""
    name, uri = split_ref(ref, "resource")
    try:
        result = await _server(servers, name).read_resource(uri, meta=context.meta())
    except MCPError as exc:
        raise InvalidRequest(f"resource {ref}: {exc.error.message}") from exc
    parts = []
    for c in result.contents:
        if isinstance(c, types.TextResourceContents):
            parts.append(c.text)
        else:
            parts.append(f"[binary {c.mime_type or 'data'} resource {c.uri}]")
    return "\n".join(parts)


async def render_prompt(
    servers: Mapping[str, ManagedServer], ref: str, arguments: Mapping[str, str]
) -> str:
    """A prompt's messages as one task text (the text parts, in order)."""
    name, prompt = split_ref(ref, "prompt")
    try:
        result = await _server(servers, name).get_prompt(prompt, dict(arguments))
    except MCPError as exc:
        raise InvalidRequest(f"prompt {ref}: {exc.error.message}") from exc
    texts = []
    for m in result.messages:
        c = m.content
        if isinstance(c, types.TextContent):
            texts.append(c.text)
        elif isinstance(c, types.EmbeddedResource) and isinstance(
            c.resource, types.TextResourceContents
        ):
            texts.append(c.resource.text)
    text = "\n\n".join(t for t in texts if t.strip())
    if not text:
        raise InvalidRequest(f"prompt {ref} has no text to run")
    return text


async def compose_task(servers: Mapping[str, ManagedServer], request: RunRequest) -> str:
    """The task a run starts from: its prompt's text (if any), then the request's task, then
    each attached resource under a header naming it (read as the request's principal)."""
    parts: list[str] = []
    if request.prompt is not None:
        parts.append(await render_prompt(servers, request.prompt, request.prompt_args))
    if request.task:
        parts.append(request.task)
    context = CallContext(principal=request.principal, request_id=request.request_id)
    for ref in request.resources:
        text = await read_resource(servers, ref, context)
        if len(text) > MAX_ATTACHED_CHARS:
            text = text[:MAX_ATTACHED_CHARS] + f"\n[... cut at {MAX_ATTACHED_CHARS} characters]"
        parts.append(f"Attached resource {ref}:\n{text}")
    return "\n\n".join(parts)


def _up(servers: Mapping[str, ManagedServer]) -> Sequence[ManagedServer]:
    return [s for s in servers.values() if s.state is ServerState.UP]
