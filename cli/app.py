"""The root ``agenthost`` app: the global options, and every command of the sub-apps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import approvals, guard, keys, models, purge, rag, runs, serve, servers
from cli.boundary import App, options
from core.errors import exit_codes_text

app = App(
    name="agenthost",
    help=(
        "agenthost: an agent runtime that runs offline on a laptop.\n\n"
        "Configuration comes from agenthost.toml (see agenthost.example.toml) and AGENTHOST_* "
        "environment variables; all state lives under $AGENTHOST_HOME.\n\n"
        f"Exit codes: {exit_codes_text()}. Errors are one line on stderr; --debug shows "
        "tracebacks."
    ),
    no_args_is_help=True,
)


@app.callback()
def _global(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML config file (default: ./agenthost.toml).",
            envvar="AGENTHOST_CONFIG",
            show_envvar=True,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
) -> None:
    options.config = config
    options.debug = debug


# in the order `agenthost --help` lists them
app.add_typer(models.app)  # chat, models, config
app.add_typer(runs.app)  # run, resume, sessions, show, tools
app.add_typer(serve.app)  # serve, tui
app.add_typer(rag.app)  # ingest, search, ask
app.add_typer(approvals.app, name="approvals")
app.add_typer(servers.app, name="servers")
app.add_typer(keys.app, name="keys")
app.add_typer(guard.app, name="guard")  # guard check
app.add_typer(purge.app)  # purge


def main() -> None:
    app()
