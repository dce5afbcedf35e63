"""Who sees whose records: one rule (``Principal.visible_scope``) for the MCP server, the
session store and the gateway."""

from __future__ import annotations

import pytest

from core.principal import ADMIN_ROLE, DEFAULT_TENANT, Principal

ALICE = Principal("acme", "alice")
ADMIN = Principal("acme", "root", frozenset({ADMIN_ROLE}))
CAROL = Principal("globex", "carol")


@pytest.mark.parametrize(
    ("who", "tenant", "user", "sees"),
    [
        (ALICE, "acme", "alice", True),  # its own
        (ALICE, "acme", "bob", False),  # a colleague's
        (ALICE, "globex", "alice", False),  # the same name in another tenant
        (ALICE, "acme", None, False),  # a tenant's run without a user
        (ADMIN, "acme", "bob", True),  # an admin: the whole tenant
        (ADMIN, "acme", None, True),
        (ADMIN, "globex", "carol", False),  # never another tenant
        (CAROL, "acme", "alice", False),
        (Principal(), None, None, True),  # rows of the default tenant without a user
        (Principal(), DEFAULT_TENANT, "", True),
        (Principal(), DEFAULT_TENANT, "alice", False),
    ],
)
def test_who_sees_which_record(
    who: Principal, tenant: str | None, user: str | None, sees: bool
) -> None:
    assert who.sees(tenant, user) is sees


def test_the_visible_scope_is_the_filter_form_of_the_rule() -> None:
    assert ALICE.visible_scope() == ("acme", "alice")
    assert ADMIN.visible_scope() == ("acme", None)
    assert Principal("acme", "", frozenset({"host"})).visible_scope() == ("acme", "")
