"""Scripted models for host tests, loadable from config (``script = "tests.host.scripts:adder"``).

They decide from the request alone, so a run resumed in another process continues the same way.
"""

from __future__ import annotations

from inference import ChatRequest
from inference.backends.scripted import ScriptedCall, Turn


def adder(request: ChatRequest) -> Turn:
    """Add 1 to a running total with the test server's add tool, five times, then answer."""
    results = [m.content for m in request.messages if m.role == "tool"]
    if len(results) >= 5:
        return Turn(f"The total is {results[-1]}.")
    total = int(results[-1]) if results and results[-1].isdigit() else 0
    return Turn("Adding one more.", (ScriptedCall("test__add", {"a": total, "b": 1}),))


def deleter(request: ChatRequest) -> Turn:
    """Delete the file named at the end of the task, then report."""
    task = next(m.content for m in request.messages if m.role == "user")
    results = [m.content for m in request.messages if m.role == "tool"]
    if not results:
        return Turn("", (ScriptedCall("test__delete_file", {"path": task.split()[-1]}),))
    return Turn(f"Result: {results[-1]}")


def sleeper(request: ChatRequest) -> Turn:
    """Call the test server's slow tool for the seconds the task ends with, then report."""
    task = next(m.content for m in request.messages if m.role == "user")
    if not any(m.role == "tool" for m in request.messages):
        return Turn("", (ScriptedCall("test__slow", {"seconds": float(task.split()[-1])}),))
    return Turn("Slept.")


def echo(request: ChatRequest) -> Turn:
    """Answer at once with the task: a run that is over in one step."""
    task = next(m.content for m in request.messages if m.role == "user")
    return Turn(f"Done: {task}")
