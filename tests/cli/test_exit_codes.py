"""One exit-code table: README.md's is ``core.errors.EXIT_CODES``, and every kind of error a
user meets exits with the code that table gives its meaning, as one line without a traceback."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from agents.state import Outcome, OutcomeKind
from cli.progress import exit_code
from core.errors import EXIT_CODES
from memory.sessions import outcome_from_dict
from tests.cli.conftest import REPO, agenthost
from tests.host.conftest import TEST_SERVER

ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|$")


def readme_table() -> dict[str, int]:
    """README's ``| code | meaning |`` table, meaning → code (in order)."""
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\|\s*code\s*\|\s*meaning", line))
    table: dict[str, int] = {}
    for line in lines[start + 2 :]:  # past the header and its separator
        match = ROW.match(line.strip())
        if match is None:
            break
        table[match.group(2)] = int(match.group(1))
    return table


def test_readme_table_is_exit_codes() -> None:
    assert list(readme_table().items()) == [(e.meaning, e.code) for e in EXIT_CODES]


BAD = "bad configuration, arguments or request"
UNAVAILABLE = "no backend or server could serve it (retry later)"
BUDGET = "a budget ran out"
DENIED = "an approval was denied"

SCRIPTED = '[inference.backends.local]\nkind = "scripted"\n[servers.time]\nenabled = false\n'
NO_BACKEND = """
[inference.backends.remote]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
[inference.tiers]
main = ["remote"]
[servers.time]
enabled = false
"""
WITH_TEST_SERVER = f"""
[inference.backends.local]
kind = "scripted"
script = "tests.host.scripts:{{script}}"
[servers.test]
command = "{sys.executable}"
args = ["{TEST_SERVER}"]
[servers.test.tools.delete_file]
risk = "high"
[servers.time]
enabled = false
[approvals]
default = "deny"
"""

CASES: list[tuple[str, bytes | str, list[str], str, str]] = [
    # (case, agenthost.toml, arguments, meaning in README, what the line says)
    ("unknown role", SCRIPTED, ["run", "x", "--role", "nobody"], BAD, "unknown role 'nobody'"),
    ("unknown agent", SCRIPTED, ["run", "x", "--agent", "swarm"], BAD, "unknown agent 'swarm'"),
    ("empty task", SCRIPTED, ["run", "   "], BAD, "nothing to do"),
    ("non-UTF-8 config", b'[agent]\nkind = "\xff"\n', ["run", "x"], BAD, "not UTF-8"),
    ("invalid TOML", "[agent\n", ["run", "x"], BAD, "invalid TOML"),
    ("unknown config key", "[bogus]\nx = 1\n", ["run", "x"], BAD, "bogus: Extra inputs"),
    ("unknown session (show)", SCRIPTED, ["show", "ses_missing"], BAD, "no session"),
    ("unknown session (resume)", SCRIPTED, ["resume", "ses_missing"], BAD, "no session"),
    ("unknown collection", SCRIPTED, ["search", "x", "-C", "nope"], BAD, "no collection 'nope'"),
    ("no backend", NO_BACKEND, ["run", "hi", "-q", "--json"], UNAVAILABLE, "cannot connect"),
    (
        "budget exhausted",
        WITH_TEST_SERVER.format(script="adder"),
        ["run", "count", "-q", "--json", "--max-steps", "2"],
        BUDGET,
        "budget_exhausted: ",
    ),
    (
        "approval denied",
        WITH_TEST_SERVER.format(script="deleter"),
        ["run", "delete victim.txt", "-q", "--json"],
        DENIED,
        "denied: ",
    ),
]


@pytest.mark.parametrize(
    ("config", "args", "meaning", "says"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_error_exits_with_its_code(
    tmp_path: Path, config: bytes | str, args: list[str], meaning: str, says: str
) -> None:
    config_file = tmp_path / "agenthost.toml"
    if isinstance(config, bytes):
        config_file.write_bytes(config)
    else:
        config_file.write_text(config)
    (tmp_path / "victim.txt").write_text("keep me")
    done = agenthost(*args, cwd=tmp_path)
    assert done.returncode == readme_table()[meaning], done.stderr
    assert "Traceback" not in done.stderr
    # one line says it (a run also announces its session first)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("session ses_")]
    assert len(lines) == 1, done.stderr
    assert says in lines[0]
    assert (tmp_path / "victim.txt").exists()


def test_an_error_outcome_keeps_its_code_in_the_store() -> None:
    """The code a run's error had is stored with its outcome (older rows have none)."""
    unavailable = Outcome(OutcomeKind.ERROR, "NoBackendAvailable: ...", code=3)
    assert outcome_from_dict(unavailable.to_dict()) == unavailable
    old = outcome_from_dict({"kind": "error", "detail": "BackendError: ..."})
    assert old is not None
    assert old.code is None
    assert exit_code(unavailable) == readme_table()[UNAVAILABLE]
    assert exit_code(old) == readme_table()["any other error"]
    assert exit_code(Outcome(OutcomeKind.CANCELLED)) == readme_table()["interrupted (Ctrl-C)"]
    assert "code" not in Outcome(OutcomeKind.COMPLETED).to_dict()
