"""The layout's promises, checked on the source: dependencies point one way, and there is one
settings model."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ("core", "settings", "inference", "agents", "approvals", "auth", "memory", "rag",
          "sandbox", "mcp_servers", "host")  # fmt: skip


def imports(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of ``package`` imports."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_no_engine_package_imports_the_cli_or_the_console() -> None:
    for package in ENGINE:
        for module, names in imports(package).items():
            assert not names & {"cli", "tui"}, f"{module} imports {names & {'cli', 'tui'}}"


def test_mcp_servers_do_not_import_the_host() -> None:
    for module, names in imports("mcp_servers").items():
        assert "host" not in names, module


def test_the_bottom_imports_nothing_of_ours() -> None:
    for module, names in imports("core").items():
        assert not names & set(ENGINE) - {"core"}, module


def test_exactly_one_settings_class() -> None:
    subclasses = []
    for package in (*ENGINE, "cli", "tui", "evals"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")) == "BaseSettings" for b in node.bases
                ):
                    subclasses.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert subclasses == ["settings/model.py:Settings"]
