"""The CLI's one error boundary, in process: what each kind of failure becomes."""

from __future__ import annotations

import anyio
import pytest
import typer
from typer.testing import CliRunner

from cli.boundary import App, BadArgument, options, run_async
from core.errors import INTERRUPTED, BudgetExhausted, Unavailable


def invoke(work: object) -> tuple[int, str]:
    """Run ``work`` (a callable) as the one command of an ``App``: (exit code, stderr)."""
    app = App()

    @app.command()
    def only() -> None:
        assert callable(work)
        work()

    @app.command()
    def other() -> None:  # two commands, so `only` is a subcommand
        pass

    result = CliRunner().invoke(app, ["only"])
    return result.exit_code, result.stderr


def test_an_agenthost_error_is_one_line_and_its_code() -> None:
    def work() -> None:
        raise BudgetExhausted("steps: 3 of 3\nused")

    assert invoke(work) == (4, "error: steps: 3 of 3 used\n")


def test_markup_in_a_message_is_printed_as_is() -> None:
    def work() -> None:
        raise BadArgument("[inference.tiers] main names [red]ghost[/red]")

    assert invoke(work) == (2, "error: [inference.tiers] main names [red]ghost[/red]\n")


def test_foreign_errors_are_mapped() -> None:
    def work() -> None:
        b"\xff".decode()

    code, stderr = invoke(work)
    assert code == 2
    assert stderr.startswith("error: not UTF-8 text")


def test_an_error_inside_async_work_comes_out_of_its_task_group() -> None:
    async def fails() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(anyio.sleep, 10)
            raise Unavailable("the backend is down")

    assert invoke(lambda: run_async(fails)) == (3, "error: the backend is down\n")


def test_exit_and_interrupt() -> None:
    def exits() -> None:
        raise typer.Exit(7)

    def interrupted() -> None:
        raise KeyboardInterrupt

    assert invoke(exits) == (7, "")
    assert invoke(interrupted) == (INTERRUPTED, "interrupted\n")


def test_a_bug_is_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    def work() -> None:
        raise ZeroDivisionError("division by zero")

    code, stderr = invoke(work)
    assert code == 1
    assert stderr == (
        "error: internal error: ZeroDivisionError: division by zero (--debug shows the traceback)\n"
    )
    monkeypatch.setattr(options, "debug", True)
    app = App()
    app.command()(work)
    result = CliRunner().invoke(app, [])
    assert isinstance(result.exception, ZeroDivisionError)
