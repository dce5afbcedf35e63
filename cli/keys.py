"""``agenthost keys``: the API keys every HTTP listener asks for (create, list, revoke)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.boundary import App, err, settings

if TYPE_CHECKING:
    from auth.keys import KeyStore

app = App(
    help="API keys for the HTTP listeners (serve --mcp --transport http, the MCP servers over "
    "HTTP): each stands for a tenant, a user and their roles.",
    no_args_is_help=True,
)


def _store() -> KeyStore:
    from auth.keys import KeyStore  # SQLModel loads for these commands only
    from memory.sessions import make_engine

    return KeyStore(make_engine(settings().db_url))


@app.command()
def create(
    tenant: Annotated[str, typer.Option(help="The tenant the key's requests are scoped to.")],
    user: Annotated[str, typer.Option(help="The user the key's requests are scoped to.")],
    role: Annotated[
        list[str] | None, typer.Option("--role", help="A role of the key's principal (repeatable).")
    ] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests a minute it may make.")] = None,
) -> None:
    """Make a key and print it once (only its hash is kept): pass it as `Authorization:
    Bearer <key>`.

    Example:

      agenthost keys create --tenant acme --user alice --role approver
    """
    made = _store().create(tenant=tenant, user=user, roles=role or (), rpm=rpm)
    print(made.secret)
    who = escape(made.row.principal.describe())
    err.print(f"[dim]{made.row.id} for {who}: shown once, keep it safe[/]")


@app.command("list")
def list_keys(
    show_all: Annotated[bool, typer.Option("--all", help="Revoked ones too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The keys (never their secrets): id, tenant, user, roles, rate limit, created, revoked."""
    rows = _store().list(include_revoked=show_all)
    if as_json:
        print(json.dumps([r.model_dump(exclude={"digest"}) for r in rows], indent=2))
        return
    table = Table("id", "tenant", "user", "roles", "rpm", "created", "revoked")
    table.columns[0].no_wrap = True
    for r in rows:
        table.add_row(
            r.id, r.tenant, r.user, ", ".join(r.roles), str(r.rpm or ""),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.revoked_at)) if r.revoked_at else "",
        )  # fmt: skip
    Console().print(table)


@app.command()
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id or a unique prefix (keys list).")],
) -> None:
    """Revoke a key: every request with it is refused (within 5 s on a running listener).

    Example:

      agenthost keys revoke key_3f2a
    """
    row = _store().revoke(key)
    err.print(f"revoked {row.id} ({escape(row.principal.describe())})")
