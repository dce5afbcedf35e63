"""The one error tree of agenthost, and the exit codes it maps to.

Every error a user can act on is an ``AgentHostError``. Each package derives its own errors
from one of the categories below, and the category fixes the exit code, so the CLI, the MCP
servers and the README agree by construction::

    AgentHostError                      1  anything else
    ├── ConfigError                     2  bad configuration, file or command-line arguments
    │   ├── settings.ConfigFileError       agenthost.toml / AGENTHOST_* cannot be used
    │   ├── inference.ConfigError          a backend's configuration (ModelNotFound, ...)
    │   ├── rag.RagConfigError             the embedding model is missing, ...
    │   └── approvals.PolicyError          an approval policy file
    ├── InvalidRequest                  2  a request that cannot run as asked
    │   ├── host.RunRejected               unknown role, agent or tier; empty task
    │   ├── host.UnknownRole
    │   ├── memory.SessionNotFound
    │   ├── approvals.NotPending
    │   ├── rag.InvalidArgument, rag.UnknownCollection, rag.ChunkNotFound
    │   └── sandbox.SessionError, sandbox.FileAccessError (FileTooLarge)
    ├── Unavailable                     3  nothing could serve it now; retrying may help
    │   ├── inference.BackendError         (BackendUnavailable, BackendTimeout, ...)
    │   ├── inference.NoBackendAvailable
    │   ├── host.ServerUnavailable, host.ToolTimeout   an MCP server is down or hung
    │   ├── rag.IndexBusy                  another process holds the index's writer
    │   └── sandbox.IsolationUnavailable   no isolation works on this machine
    ├── BudgetExhausted                 4  a budget ran out (agents.BudgetExceeded)
    ├── Denied                          5  an approval was denied (agents.ApprovalDenied)
    └── (package roots: inference.InferenceError, rag.RagError, sandbox.SandboxError,
         agents.AgentError; each error also derives from its category)

``EXIT_CODES`` is the table README.md and ``agenthost --help`` print (a test holds README to
it). ``map_errors()`` is the one place foreign exceptions (a non-UTF-8 file, a TOML syntax
error, an OS error) become agenthost errors at a boundary; the boundary (the CLI, an MCP
server) then turns an ``AgentHostError`` into one line and an exit code, or a tool error.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class AgentHostError(Exception):
    """Base of every error agenthost raises for a user to act on."""

    exit_code = 1


class ConfigError(AgentHostError):
    """The configuration (file, environment, command line) cannot be used as given."""

    exit_code = 2


class InvalidRequest(AgentHostError):
    """A request names something that does not exist, or asks for what cannot be done."""

    exit_code = 2


class Unavailable(AgentHostError):
    """Nothing could serve the request now (a backend, a server, a lock); retry later."""

    exit_code = 3


class BudgetExhausted(AgentHostError):
    """A run's, user's or tenant's budget ran out."""

    exit_code = 4


class Denied(AgentHostError):
    """An approval was denied."""

    exit_code = 5


class Blocked(AgentHostError):
    """Guardrails blocked the input or the answer (an injection, a policy hit)."""

    exit_code = 6


INTERRUPTED = 130


@dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(0, "completed"),
    ExitCode(AgentHostError.exit_code, "any other error"),
    ExitCode(ConfigError.exit_code, "bad configuration, arguments or request"),
    ExitCode(Unavailable.exit_code, "no backend or server could serve it (retry later)"),
    ExitCode(BudgetExhausted.exit_code, "a budget ran out"),
    ExitCode(Denied.exit_code, "an approval was denied"),
    ExitCode(Blocked.exit_code, "guardrails blocked the task or the answer"),
    ExitCode(INTERRUPTED, "interrupted (Ctrl-C)"),
)


def exit_codes_text() -> str:
    """The table as one line, for ``--help``."""
    return ", ".join(f"{e.code} {e.meaning}" for e in EXIT_CODES)


def exit_code_of(exc: BaseException) -> int:
    return exc.exit_code if isinstance(exc, AgentHostError) else AgentHostError.exit_code


@contextmanager
def map_errors(where: str = "") -> Iterator[None]:
    """Turn the foreign exceptions a user can cause into agenthost errors (one line each).

    ``where`` names what was being read (a file), for the message. Programming errors pass
    through untouched: they are bugs, and ``--debug`` shows their traceback."""
    prefix = f"{where}: " if where else ""
    try:
        yield
    except AgentHostError:
        raise
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{prefix}not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r})"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{prefix}invalid TOML: {exc}") from exc
    except PermissionError as exc:
        raise ConfigError(f"{prefix}permission denied: {exc.filename or exc}") from exc
    except FileNotFoundError as exc:
        raise ConfigError(f"{prefix}no such file: {exc.filename or exc}") from exc
