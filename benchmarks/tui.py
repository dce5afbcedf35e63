"""Large runs in the console: opening a run with N steps and paging through it, headless.

Three ways to show the same steps, measured in the same process, one after another:

- floor: a bare Textual ``Tree`` holding the same nodes (what any virtualised view pays);
- agenthost: the console's run view (``RunScreen``: the step tree plus gauges, plan, answer);
- naive: one stock ``Collapsible`` widget per step in a ``VerticalScroll`` (the obvious way to
  build collapsible blocks; not virtualised), at fewer steps since it grows too slowly.

Each is timed to open (mount plus first full render) and per page-down key (handled and
redrawn), over a 120x40 headless screen.

    python -m benchmarks.tui [--steps 10000] [--naive-steps 1000] [--pages 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Collapsible, Static, Tree

from settings import Settings
from tests.tui.seed import long_run
from tui.app import OperatorApp
from tui.live import RunView
from tui.run_screen import RunScreen


class Bare(App[None]):
    def __init__(self, build: Callable[[], Widget]) -> None:
        super().__init__()
        self.build = build

    def compose(self) -> ComposeResult:
        yield self.build()


def bare_tree(steps: int) -> Widget:
    tree: Tree[None] = Tree("steps")
    tree.show_root = False
    for i in range(1, steps + 1):
        node = tree.root.add(f"step {i} act · 340+27 tok · 900ms · test__add", expand=False)
        node.add_leaf(f"Step {i}: adding one more.")
        tool = node.add(f'test__add({{"a": {i}, "b": 1}})', expand=True)
        tool.add_leaf(f"→ {i + 1}")
    return tree


def naive(steps: int) -> Widget:
    blocks = [
        Collapsible(
            Static(f"Step {i}: adding one more."),
            Static(f'test__add({{"a": {i}, "b": 1}}) → {i + 1}'),
            title=f"step {i} act · 340+27 tok · 900ms · test__add",
            collapsed=True,
        )
        for i in range(1, steps + 1)
    ]
    return VerticalScroll(*blocks)


async def measure(
    app: App[Any], open_view: Callable[[App[Any]], Any], pages: int
) -> dict[str, float]:
    app.animation_level = "none"  # measure drawing, not scroll animations
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        started = time.perf_counter()
        open_view(app)
        await pilot.pause()
        await pilot.pause()
        opened = time.perf_counter() - started
        times: list[float] = []
        for _ in range(pages):
            t = time.perf_counter()
            await pilot.press("pagedown")
            await pilot.pause()
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        await pilot.press("home")
        await pilot.pause()
        home = time.perf_counter() - t
    return {"open_s": opened, "page_ms": statistics.median(times) * 1000, "home_ms": home * 1000}


async def ours(steps: int, pages: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        app = OperatorApp(settings, attach=True)
        state = long_run(steps)
        view = RunView(session_id=state.session_id, task=state.task, steps=state.steps,
                       budget=state.budget, spent=state.spent, status="completed",
                       answer=state.answer)  # fmt: skip

        def open_view(a: App[Any]) -> None:
            screen = RunScreen(a.operator, view)  # type: ignore[attr-defined]
            screen.follow = False
            a.push_screen(screen)

        return await measure(app, open_view, pages)


async def bare(build: Callable[[], Widget], pages: int) -> dict[str, float]:
    holder = Bare(lambda: Static(""))

    def open_view(a: App[Any]) -> None:
        widget = build()
        a.mount(widget)
        widget.focus()

    return await measure(holder, open_view, pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--naive-steps", type=int, default=1_000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    import anyio

    rows = [
        ("floor: bare Tree", args.steps,
         anyio.run(bare, lambda: bare_tree(args.steps), args.pages)),
        ("agenthost RunScreen", args.steps, anyio.run(ours, args.steps, args.pages)),
        ("naive: Collapsible per step", args.naive_steps,
         anyio.run(bare, lambda: naive(args.naive_steps), args.pages)),
    ]  # fmt: skip
    floor = rows[0][2]
    print(f"{'view':<30} {'steps':>7} {'open s':>8} {'page ms':>8} {'home ms':>8} "
          f"{'open-floor':>11} {'page-floor':>11}")  # fmt: skip
    for name, n, r in rows:
        print(
            f"{name:<30} {n:>7} {r['open_s']:>8.2f} {r['page_ms']:>8.1f} {r['home_ms']:>8.1f} "
            f"{r['open_s'] - floor['open_s']:>+11.2f} {r['page_ms'] - floor['page_ms']:>+11.1f}"
        )


if __name__ == "__main__":
    main()
