"""The toolbox: every MCP server's tools, namespaced, then wrapped layer by layer.

    McpTools        the servers' tools as ``<server>__<tool>``; failures become tool errors
    └ CachedTools   identical calls of cacheable (read-only) tools reuse a recent result
      └ GatedTools  risky calls wait for an approval; an approver's edit replaces the arguments
        └ ScreenedTools   each result is checked by the run's guardrails before the model
          │               reads it (redacted, or withheld with a notice)
          └ FilteredTools   only what the run's role (and its ``--tool`` globs) allows

Placeholders the guardrails put in a prompt (``<EMAIL_1>``) are revealed only in McpTools,
just before the server gets the call: approvals, the session and spans see the placeholder.

Each layer is one small class with the same two methods (``entries``, ``call``), testable
alone. ``Toolbox.for_run`` stacks them for one run and hands the loop a ``RunTools`` (an agents
``Toolset``).

Tool names are ``<server>__<tool>``: unique across servers and valid as OpenAI function names.
The registry is read live, so tools loaded or unloaded while the host runs (MCP
``notifications/tools/list_changed``) show up in the next model call.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import jsonschema
from mcp import types
from mcp.shared.exceptions import MCPError

from agents.state import Attachment, RunState
from agents.tools import OnProgress, ToolResult
from approvals import ApprovalGate, ApprovalRequest, ApprovalsConfig, Asker, Risk
from core import logctx
from core.principal import Principal
from guardrails import Source
from host.cache import ToolResultCache
from host.errors import UnknownRole
from host.guarding import RunGuard, withheld_notice
from host.mcp_servers import ManagedServer, RemoteTool, ServerUnavailable, ToolTimeout
from host.selection import ToolRanker
from inference.types import Message, ToolCall, ToolSpec
from settings.host import RoleConfig, ToolPolicy, ToolsConfig

SEPARATOR = "__"


def namespaced(server: str, tool: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{server}{SEPARATOR}{tool}")[:64]


@dataclass(frozen=True)
class Entry:
    name: str
    server: ManagedServer
    tool: RemoteTool
    risk: Risk
    policy: ToolPolicy

    @property
    def spec(self) -> ToolSpec:
        schema = self.tool.input_schema or {"type": "object", "properties": {}}
        return ToolSpec(self.name, self.tool.description, schema)


@dataclass(frozen=True)
class CallContext:
    """What a tool call carries down the layers besides its arguments: whom it is for and
    the request its run serves (both sent to the server in the request's ``_meta``: our
    servers scope the call by the principal, a third-party server ignores them) and where
    its progress goes."""

    principal: Principal | None = None
    on_progress: OnProgress | None = None
    request_id: str | None = None
    guard: RunGuard | None = None  # the run's guardrails (results checked, placeholders kept)

    def meta(self) -> dict[str, Any] | None:
        meta: dict[str, Any] = {} if self.principal is None else dict(self.principal.to_meta())
        if self.request_id is not None:
            meta[logctx.META_KEY] = self.request_id
        return meta or None


NO_CONTEXT = CallContext()


class Tools(Protocol):
    """One layer of the toolbox."""

    def entries(self) -> Mapping[str, Entry]:
        """The tools this layer offers now, by namespaced name."""
        ...

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult: ...


class McpTools:
    """Every up server's tools. A call goes to the server; a server that is down, a timeout or
    a tool's own error comes back as a tool error the model can read."""

    def __init__(self, servers: Mapping[str, ManagedServer]) -> None:
        self.servers = servers
        self._memo: tuple[tuple[tuple[str, int, int], ...], dict[str, Entry]] | None = None

    def entries(self) -> Mapping[str, Entry]:
        # rebuilt only when a server reconnects or re-lists its tools
        version = tuple((s.name, s.generation, s.tools_version) for s in self.servers.values())
        if self._memo is None or self._memo[0] != version:
            entries: dict[str, Entry] = {}
            for server in self.servers.values():
                for tool in server.tools:
                    name = namespaced(server.name, tool.name)
                    risk, policy = server.config.policy(
                        tool.name,
                        destructive=tool.destructive,
                        cacheable=tool.read_only and tool.idempotent,
                    )
                    entries[name] = Entry(name, server, tool, risk, policy)
            self._memo = (version, entries)
        return self._memo[1]

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        if context.guard is not None:  # the model wrote placeholders; the server gets values
            arguments = context.guard.vault.reveal(arguments)
        try:
            result = await entry.server.call(
                entry.tool.name, arguments, on_progress=context.on_progress, meta=context.meta()
            )
        except ServerUnavailable as exc:
            return ToolResult.error(
                "server_down", f"{exc}. Try again shortly, or use another tool."
            )
        except ToolTimeout as exc:
            return ToolResult.error("timeout", str(exc))
        except MCPError as exc:
            return ToolResult.error("tool_error", exc.error.message)
        text, attachments = render(result)
        if result.is_error:
            return ToolResult.error("tool_error", text)
        return ToolResult(text, attachments=attachments)


class CachedTools:
    """Reuses results of cacheable tools. The key holds the server's connection generation and
    a hash of its config, so a restart or a config change invalidates its entries."""

    def __init__(self, inner: Tools, cache: ToolResultCache | None = None) -> None:
        self.inner = inner
        self.cache = cache or ToolResultCache()
        self._config_hash: dict[str, str] = {}

    def entries(self) -> Mapping[str, Entry]:
        return self.inner.entries()

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        if not entry.policy.cacheable:
            return await self.inner.call(entry, arguments, context)
        server = entry.server
        key = self.cache.key(
            server.name, server.generation, self._hash(server), entry.tool.name, arguments
        )
        hit = self.cache.get(key)
        if hit is not None:
            return ToolResult(hit, cached=True)
        result = await self.inner.call(entry, arguments, context)
        if not result.is_error:
            self.cache.put(key, result.content, entry.policy.ttl_s)
        return result

    def _hash(self, server: ManagedServer) -> str:
        digest = self._config_hash.get(server.name)
        if digest is None:
            raw = server.config.model_dump_json().encode()
            digest = self._config_hash[server.name] = hashlib.sha256(raw).hexdigest()[:16]
        return digest


class GatedTools:
    """Calls at a risk the approvals config gates wait for a decision; a denial is a tool
    error, an approver's edited arguments (checked against the schema) replace the model's."""

    def __init__(
        self,
        inner: Tools,
        gate: ApprovalGate,
        approvals: ApprovalsConfig,
        *,
        session_id: str,
        role: str | None,
        agent: str,
        asker: Asker | None = None,
    ) -> None:
        self.inner = inner
        self.gate = gate
        self.approvals = approvals
        self.session_id = session_id
        self.role = role
        self.agent = agent
        self.asker = asker

    def entries(self) -> Mapping[str, Entry]:
        return self.inner.entries()

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        if not self.approvals.needs_approval(entry.risk):
            return await self.inner.call(entry, arguments, context)
        request = ApprovalRequest(
            session_id=self.session_id,
            tool=entry.name,
            arguments=arguments,
            risk=entry.risk,
            role=self.role,
            agent=self.agent,
            summary=f"{entry.name}({json.dumps(arguments)[:200]})",
        )
        decision = await self.gate.decide(request, self.asker)
        if not decision.approved:
            return ToolResult.error(
                "denied", f"approval denied by {decision.by}: {decision.reason}"
            )
        if decision.arguments is None:
            return await self.inner.call(entry, arguments, context)
        try:
            jsonschema.validate(decision.arguments, entry.spec.parameters)
        except jsonschema.ValidationError as exc:
            return ToolResult.error(
                "invalid_arguments", f"the approver's edited arguments: {exc.message}"
            )
        result = await self.inner.call(entry, decision.arguments, context)
        return replace(result, arguments=decision.arguments)


class ScreenedTools:
    """Checks each result of the layers below with the call's ``CallContext.guard`` (a call
    without one passes unchecked). A result from our rag server is retrieval text, from the
    memory server a recalled note, else a tool's (``[servers.X] content``)."""

    def __init__(self, inner: Tools) -> None:
        self.inner = inner

    def entries(self) -> Mapping[str, Entry]:
        return self.inner.entries()

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        result = await self.inner.call(entry, arguments, context)
        guard = context.guard
        if guard is None or not result.content:
            return result
        source = Source(entry.server.config.content_source(entry.server.name))
        verdict = await guard.check(result.content, source, entry.name)
        if verdict.withheld:
            return ToolResult.error("withheld", withheld_notice(verdict))
        if verdict.text != result.content:
            return replace(result, content=verdict.text)
        return result


class FilteredTools:
    """Only the entries ``allows(server, name)`` accepts (a role, a run's tool globs)."""

    def __init__(self, inner: Tools, allows: Callable[[str, str], bool]) -> None:
        self.inner = inner
        self.allows = allows

    def entries(self) -> Mapping[str, Entry]:
        return {
            name: e for name, e in self.inner.entries().items() if self.allows(e.server.name, name)
        }

    async def call(
        self, entry: Entry, arguments: dict[str, Any], context: CallContext = NO_CONTEXT
    ) -> ToolResult:
        return await self.inner.call(entry, arguments, context)


SEARCH_TOOLS = ToolSpec(
    "search_tools",
    "Find more tools by what they should do. The tools found can be called from the next turn.",
    {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "what the tool should do"}},
        "required": ["query"],
    },
)
FOUND_PER_SEARCH = 4


class RunTools:
    """The tools of one run, as the agent loops see them (an agents ``Toolset``).

    With a ``ranker``, a turn is offered the ``offer`` tools most relevant to the task and the
    recent turns (and those matching ``always``); when that hides some, ``search_tools`` is
    offered too, and what it finds stays offered."""

    def __init__(
        self,
        tools: Tools,
        *,
        ranker: ToolRanker | None = None,
        task: str = "",
        config: ToolsConfig | None = None,
        principal: Principal | None = None,
        request_id: str | None = None,
        guard: RunGuard | None = None,
    ) -> None:
        self.tools = tools
        self.principal = principal  # whom its calls are for
        self.request_id = request_id  # the request the run serves (X-Request-ID)
        self.guard = guard
        self.ranker = ranker
        self.task = task
        self.config = config or ToolsConfig()
        self.found: list[str] = []  # by search_tools, newest last

    def entries(self) -> Mapping[str, Entry]:
        return self.tools.entries()

    def specs(self, context: Sequence[Message] = ()) -> Sequence[ToolSpec]:
        everything = [e.spec for e in self.entries().values()]
        offer = self.config.offer
        if self.ranker is None or len(everything) <= offer:
            return everything
        ranked = self.ranker.rank(everything, self._query(context))
        chosen: dict[str, ToolSpec] = {}
        by_name = {s.name: s for s in everything}
        for name in self.found:
            if name in by_name:
                chosen[name] = by_name[name]
        for spec in everything:
            if any(fnmatch.fnmatchcase(spec.name, p) for p in self.config.always):
                chosen[spec.name] = spec
        for spec, _score in ranked:
            if len(chosen) >= offer:
                break
            chosen.setdefault(spec.name, spec)
        # most relevant first: context fitting drops from the end when the window is tight
        order = {spec.name: i for i, (spec, _) in enumerate(ranked)}
        return [*sorted(chosen.values(), key=lambda s: order[s.name]), SEARCH_TOOLS]

    def tool_required(self) -> bool:
        """Whether the task names a tool this plainly (``[tools] require_when``): then the
        first turn must call one, which small models otherwise skip."""
        threshold = self.config.require_when
        if threshold == "never" or self.ranker is None:
            return False
        specs = [e.spec for e in self.entries().values()]
        return any(self.ranker.name_match(s, self.task) >= threshold for s in specs)

    def _query(self, context: Sequence[Message]) -> str:
        recent = [m.content for m in context[2:] if m.role in ("user", "assistant") and m.content]
        return " ".join([self.task, *recent[-2:]])[:2000]

    def _search(self, call: ToolCall) -> ToolResult:
        query = call.arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            return ToolResult.error("invalid_arguments", "search_tools needs a query")
        everything = [e.spec for e in self.entries().values()]
        assert self.ranker is not None
        found = [spec for spec, _ in self.ranker.rank(everything, query)[:FOUND_PER_SEARCH]]
        names = [s.name for s in found]
        self.found = [n for n in self.found if n not in names] + names
        del self.found[: -2 * FOUND_PER_SEARCH]
        listing = [{"tool": s.name, "description": s.description.split("\n")[0]} for s in found]
        return ToolResult(json.dumps(listing, ensure_ascii=False))

    async def call(self, call: ToolCall, on_progress: OnProgress | None = None) -> ToolResult:
        if call.name == SEARCH_TOOLS.name and self.ranker is not None:
            return self._search(call)
        entries = self.entries()
        entry = entries.get(call.name)
        if entry is None:
            known = ", ".join(sorted(entries)) or "none"
            return ToolResult.error(
                "unknown_tool",
                f"tool {call.name!r} is not available to this run now (available: {known})",
            )
        return await self.tools.call(
            entry,
            call.arguments,
            CallContext(self.principal, on_progress, self.request_id, self.guard),
        )


class Toolbox:
    """The host's tools: the shared MCP and cache layers, and per run the gate and filters."""

    def __init__(
        self,
        servers: Mapping[str, ManagedServer],
        roles: Mapping[str, RoleConfig],
        gate: ApprovalGate,
        approvals: ApprovalsConfig,
        cache: ToolResultCache | None = None,
        *,
        ranker: ToolRanker | None = None,
        config: ToolsConfig | None = None,
    ) -> None:
        self.roles = roles
        self.gate = gate
        self.approvals = approvals
        self.cached = CachedTools(McpTools(servers), cache)
        self.ranker = ranker
        self.config = config or ToolsConfig()

    @property
    def cache(self) -> ToolResultCache:
        return self.cached.cache

    def _role(self, role: str | None) -> RoleConfig | None:
        if role is None:
            return None
        try:
            return self.roles[role]
        except KeyError:
            raise UnknownRole(role, ", ".join(sorted(self.roles)) or "none configured") from None

    def entries(self, role: str | None = None) -> Mapping[str, Entry]:
        """The tools ``role`` may use now (only servers that are up list any)."""
        rule = self._role(role)
        if rule is None:
            return self.cached.entries()
        return FilteredTools(self.cached, rule.allows).entries()

    def for_run(
        self,
        state: RunState | str,
        *,
        role: str | None = None,
        only: Sequence[str] = (),
        asker: Asker | None = None,
        guard: RunGuard | None = None,
    ) -> RunTools:
        """The tools of one run: its role's, narrowed to its tool globs, behind the approval
        gate, their results checked by ``guard``. ``asker`` is whom the gate may ask directly
        (the run's MCP client)."""
        principal: Principal | None = None
        request_id: str | None = None
        if isinstance(state, RunState):
            session_id, agent, task = state.session_id, state.agent, state.task
            role, only, principal = state.role, state.tools, state.principal
            request_id = state.request_id
        else:
            session_id, agent, task = state, "", ""
        rule = self._role(role)  # fail early on an unknown role
        tools: Tools = GatedTools(
            self.cached,
            self.gate,
            self.approvals,
            session_id=session_id,
            role=role,
            agent=agent,
            asker=asker,
        )
        tools = ScreenedTools(tools)
        if rule is not None:
            tools = FilteredTools(tools, rule.allows)
        if only:
            globs = tuple(only)
            tools = FilteredTools(
                tools, lambda _s, name: any(fnmatch.fnmatchcase(name, p) for p in globs)
            )
        return RunTools(
            tools,
            ranker=self.ranker,
            task=task,
            config=self.config,
            principal=principal,
            request_id=request_id,
            guard=guard,
        )


# Non-text content larger than this is described to the model and the session, not kept.
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024


def render(result: types.CallToolResult) -> tuple[str, tuple[Attachment, ...]]:
    """A tool result as text for the model, and its non-text content as attachments (each
    labelled in the text where it was). Structured content is one JSON document when the tool
    gave it (a list stays one list, not one text block per item), else the text parts."""
    parts: list[str] = []
    attachments: list[Attachment] = []
    for block in result.content:
        found: Attachment | None = None
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            found = _attachment(block.type, block.mime_type, block.data)
        elif isinstance(block, types.EmbeddedResource):
            resource = block.resource
            if isinstance(resource, types.TextResourceContents):
                parts.append(resource.text)
            else:
                mime = resource.mime_type or "application/octet-stream"
                found = _attachment("resource", mime, resource.blob, str(resource.uri))
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri}: {block.name}]")
        else:
            parts.append(f"[{block.type} content]")
        if found is not None:
            attachments.append(found)
            parts.append(found.label(len(attachments)))
    structured = result.structured_content
    if structured is not None and not result.is_error:
        if set(structured) == {"result"}:  # how MCP servers wrap a non-object return value
            structured = structured["result"]
        text = (
            structured
            if isinstance(structured, str)
            else json.dumps(structured, indent=2, ensure_ascii=False)
        )
        labels = [a.label(i) for i, a in enumerate(attachments, start=1)]
        return "\n".join([text, *labels]), tuple(attachments)
    return "\n".join(parts), tuple(attachments)


def _attachment(kind: str, mime_type: str, data: str, uri: str = "") -> Attachment:
    size = len(data) * 3 // 4 - data[-2:].count("=")
    keep = data if size <= MAX_ATTACHMENT_BYTES else ""
    return Attachment(kind, mime_type, keep, uri, size)
