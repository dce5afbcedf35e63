"""What a server has imported when it is ready to answer ``initialize``: none of the heavy
libraries its tools load on first use. Each server starts in a subprocess exactly as
``python -m mcp_servers.<name>`` does (arguments, settings, the server built) and stops before
serving; the test names the modules it finds, it never times anything (machines running tests
are loaded). ``benchmarks/server_start.py`` has the seconds. What a user can get wrong is
still refused at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# what the tools need and load on first use (SQLAlchemy: the stores; torch and
# sentence-transformers: embeddings; llama.cpp: the model; httpx: remote backends), and what
# only the CLI and the console need (rich is not here: the SDK's MCPServer logs through it)
HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "llama_cpp",
    "sqlalchemy",
    "sqlmodel",
    "httpx",
    "textual",
    "typer",
    "host",
)
# the retrieval stack (settings reads rag.config; rag/__init__.py imports the rest lazily)
RETRIEVAL = ("numpy", "tantivy", "markdown_it", "pypdf")

REPORT = 'import json, sys\nprint(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))'
STARTED = """
import mcp_servers.serving as serving

serving.serve = lambda server, args, settings: None  # everything up to the transport, then stop
from mcp_servers.{name}.server import main

try:
    main([])
except SystemExit:  # the sandbox refuses to start where no isolation works: still counted
    pass
"""

SERVERS = ("approvals", "memory", "rag", "sandbox")


def loaded(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\n" + REPORT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("name", SERVERS)
def test_a_started_server_has_not_imported_what_its_tools_load(name: str) -> None:
    modules = loaded(STARTED.format(name=name))
    assert "mcp_servers" in modules  # it did start
    assert sorted(modules & set(HEAVY)) == []


@pytest.mark.parametrize("name", SERVERS)
def test_a_started_server_has_not_imported_the_retrieval_stack(name: str) -> None:
    # memory checks its embedding model at start (a missing model package is a startup
    # error), and rag.embedding, which does that, imports numpy
    absent = set(RETRIEVAL) - ({"numpy"} if name == "memory" else set())
    assert sorted(loaded(STARTED.format(name=name)) & absent) == []


def test_the_cli_imports_the_engine_only_for_the_commands_that_run_it() -> None:
    # `agenthost serve --mcp` and every other command import cli.app first
    modules = loaded("import cli.app")
    assert sorted(modules & (set(HEAVY) - {"typer"})) == []


@pytest.mark.skipif(not Path("/proc/1").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("name", ["approvals", "memory"])
def test_an_unusable_home_is_still_a_startup_error(name: str) -> None:
    # the store opens with the first call, but the default database's folder is made at start
    env = os.environ | {"AGENTHOST_HOME": "/proc/1/agenthost-test/home"}
    done = subprocess.run(
        [sys.executable, "-m", f"mcp_servers.{name}"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"agenthost {name}: ")
    assert len(done.stderr.strip().splitlines()) == 1


SERVE = """
from settings import load_settings
from host.serve import build_server

build_server(load_settings())  # what `agenthost serve --mcp` has before it answers
"""


def test_the_host_as_a_server_answers_before_the_engine_loads() -> None:
    """`agenthost serve --mcp` enters the host (every MCP server, the model) in the
    background after the server runs, so the engine is not imported before initialize."""
    modules = loaded(SERVE)
    assert sorted(modules & (set(HEAVY) - {"host"}) | (modules & set(RETRIEVAL))) == []
