"""The thread choice for the embedded model: pure logic with injected cpu counts, loads and
clocks (no timing asserts), the machine-wide peer count with real locks, and the backend
re-tuning a real llama.cpp context mid-call."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from inference import ChatRequest, Message, collect
from inference.backends.embedded import EmbeddedBackend, resolve_model_path
from inference.config import EmbeddedConfig
from inference.threads import (
    CpuMeter,
    CpuSample,
    Peers,
    ThreadPolicy,
    busy_seconds,
    cgroup_cpu_limit,
    choose_threads,
    cpu_budget,
    others_busy,
)

# ---- choose_threads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "others", "peers", "current", "expected"),
    [
        (2, 0.0, 0, None, 2),  # idle: every core
        (2, 0.1, 0, None, 2),  # background noise
        (2, 1.0, 0, None, 1),  # one core taken by a CPU-bound process
        (2, 0.3, 0, None, 1),  # a first call needs clearly free room to use both
        (2, 0.3, 0, 2, 2),  # ... but a call already at 2 keeps it
        (2, 0.67, 0, 2, 1),  # a competitor our spinning threads starve still shows
        (2, 0.2, 0, 1, 2),  # the competitor left: back up
        (2, 2.0, 0, None, 1),  # never below one
        (2, 0.0, 1, None, 1),  # another agenthost process generating: split the cores
        (2, 0.0, 2, None, 1),  # three users on two cores: one thread each
        (8, 0.0, 1, None, 4),
        (8, 0.0, 3, None, 2),
        (4, 1.0, 0, None, 3),
        (4, 1.9, 0, 3, 2),
        (1, 0.0, 0, None, 1),
        (2, None, 0, None, 2),  # load unknown (not Linux): all cores, as before
        (2, None, 1, None, 1),  # ... but peers still split them
    ],
)
def test_choose_threads(
    cpus: int, others: float | None, peers: int, current: int | None, expected: int
) -> None:
    assert choose_threads(cpus, others, peers, current) == expected


def test_thread_counts_of_parallel_users_add_up_to_the_cores() -> None:
    for cpus in (1, 2, 4, 8, 16):
        for users in range(1, cpus + 1):
            total = sum(choose_threads(cpus, 0.0, users - 1, None) for _ in range(users))
            assert total <= cpus, (cpus, users)


# ---- reading the machine --------------------------------------------------------------

STAT = """cpu  300 0 30 600 10 0 5 5 0 0
cpu0 100 0 10 300 5 0 2 3 0 0
cpu1 200 0 20 300 5 0 3 2 0 0
intr 1 2 3
procs_running 2
"""


def test_busy_seconds_counts_our_cpus_without_idle_or_iowait() -> None:
    assert busy_seconds(STAT, frozenset({0, 1}), 100) == pytest.approx(3.40)
    assert busy_seconds(STAT, frozenset({1}), 100) == pytest.approx(2.25)
    assert busy_seconds(STAT, frozenset({5}), 100) == 0


def test_others_busy_subtracts_our_own_time_and_clamps() -> None:
    a = CpuSample(at=10.0, busy=100.0, own=5.0)
    b = CpuSample(at=12.0, busy=103.0, own=6.0)  # 3 s busy in 2 s, 1 of them ours
    assert others_busy(a, b, 2) == pytest.approx(1.0)
    assert others_busy(a, CpuSample(12.0, 100.5, 6.0), 2) == 0.0  # accounting jitter
    assert others_busy(a, CpuSample(12.0, 120.0, 5.0), 2) == 2.0
    assert others_busy(a, a, 2) is None


def test_cpu_budget_and_cgroup_quota(tmp_path: Path) -> None:
    limit = tmp_path / "cpu.max"
    limit.write_text("max 100000\n")
    assert cgroup_cpu_limit(limit) is None
    limit.write_text("150000 100000\n")
    assert cgroup_cpu_limit(limit) == 1.5
    assert cgroup_cpu_limit(tmp_path / "missing") is None
    assert cpu_budget(frozenset({0, 1, 2, 3}), 1.5) == 1
    assert cpu_budget(frozenset({0, 1, 2, 3}), None) == 4
    assert cpu_budget(frozenset({0, 1}), 0.2) == 1


def test_meter_counts_a_busy_child_as_ours() -> None:
    meter = CpuMeter()
    child = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    try:
        meter.sample()
        assert child.pid in meter.children
    finally:
        child.kill()
        child.wait()


def test_meter_sample_reads_this_machine() -> None:
    meter = CpuMeter()
    sample = meter.sample()
    if sample is None:
        pytest.skip("no /proc/stat here")
    assert sample.busy > 0
    assert sample.own > 0
    running = meter.running_others()
    assert running is not None
    assert running >= 0


# ---- peers: other processes generating --------------------------------------------------


def test_peers_count_holders_of_their_lock(tmp_path: Path) -> None:
    a, b = Peers(tmp_path), Peers(tmp_path)
    assert a.others() == 0
    with a.generating():
        assert b.others() == 1
        assert a.others() == 0  # not itself
        with b.generating():
            assert Peers(tmp_path).others() == 2
    assert b.others() == 0  # a lock held only while generating
    a.close()
    b.close()
    assert list(tmp_path.iterdir()) == []


def test_a_peer_in_another_process_counts_until_it_dies(tmp_path: Path) -> None:
    holder = (
        "import fcntl, sys, time\n"
        "f = open(sys.argv[1] + '/' + sys.argv[2], 'ab')\n"
        "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path), "1-0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        assert Peers(tmp_path).others() == 1
    finally:
        child.kill()
        child.wait()
    assert Peers(tmp_path).others() == 0


def test_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"{gone.stdout.strip()}-0"
    stale.touch()
    assert Peers(tmp_path).others() == 0
    assert not stale.exists()


def test_an_unwritable_folder_does_not_stop_generation(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.touch()
    peers = Peers(blocker / "sub")  # a folder that cannot be created
    with peers.generating():
        assert peers.others() == 0


# ---- the policy, on an injected machine -------------------------------------------------


@dataclass
class Machine:
    """A fake machine: a clock, and other processes using ``others`` cores."""

    now: float = 100.0
    others: float = 0.0
    busy: float = 0.0
    last: float = 100.0
    running: int = 0  # other threads runnable at this instant
    samples: int = 0
    full_samples: int = 0
    instants: int = 0

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def running_others(self) -> int:
        self.instants += 1
        return self.running

    def sample(self, *, full: bool = True) -> CpuSample:
        self.busy += self.others * (self.now - self.last)
        self.last = self.now
        self.samples += 1
        self.full_samples += full
        return CpuSample(self.now, self.busy, 0.0)


def policy_on(machine: Machine, tmp_path: Path, cpus: int = 2) -> ThreadPolicy:
    return ThreadPolicy(
        cpus=cpus,
        meter=machine,  # type: ignore[arg-type]
        peers=Peers(tmp_path),
        clock=machine.clock,
    )


def test_fixed_threads_never_look_at_the_machine(tmp_path: Path) -> None:
    policy = ThreadPolicy(fixed=3, peers=Peers(tmp_path))
    assert policy.start() == 3
    assert policy.poll() is None
    assert policy.max_threads == 3
    assert policy.meter is None
    assert policy.describe() == "3 threads"
    with policy.generating():  # but it counts as a user, so adaptive ones make room
        assert Peers(tmp_path).others() == 1


def test_an_unreadable_proc_means_unknown_load(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu0 not numbers\nprocs_running x\n")
    meter = CpuMeter(frozenset({0}), proc=tmp_path)
    assert meter.sample() is None
    assert meter.running_others() is None
    assert CpuMeter(proc=tmp_path / "missing").sample() is None


def test_first_call_measures_over_the_model_load(tmp_path: Path) -> None:
    m = Machine(others=1.0)
    policy = policy_on(m, tmp_path)
    policy.mark()  # before the load
    m.advance(0.3)  # the load
    assert policy.start() == 1
    assert m.instants == 0  # the load was the window
    assert policy.last_busy == pytest.approx(1.0)


@pytest.mark.parametrize(("running", "expected"), [(0, 2), (1, 1), (5, 1)])
def test_a_stale_baseline_looks_at_what_runs_now(
    tmp_path: Path, running: int, expected: int
) -> None:
    m = Machine(others=0.0)
    policy = policy_on(m, tmp_path)
    policy.mark()
    m.advance(600)  # idle for ten minutes: a long average would hide a new competitor
    m.running = running
    assert policy.start() == expected
    assert m.instants == 1


def test_the_first_call_without_a_baseline_looks_at_what_runs_now(tmp_path: Path) -> None:
    m = Machine(running=1)
    assert policy_on(m, tmp_path).start() == 1


def test_back_to_back_calls_reuse_the_last_estimate(tmp_path: Path) -> None:
    m = Machine(others=0.0)
    policy = policy_on(m, tmp_path)
    policy.mark()
    m.advance(0.3)
    assert policy.start() == 2
    m.advance(1.0)
    policy.end()
    m.advance(0.01)  # the next call follows at once
    assert policy.start() == 2
    assert m.instants == 0


def test_a_competitor_mid_call_brings_the_count_down_and_its_exit_back_up(
    tmp_path: Path,
) -> None:
    m = Machine(others=0.0)
    policy = policy_on(m, tmp_path)
    policy.mark()
    m.advance(0.3)
    assert policy.start() == 2
    m.advance(0.1)
    assert policy.poll() is None  # not due yet: no sample taken
    samples = m.samples
    m.advance(0.1)
    assert policy.poll() is None
    assert m.samples == samples
    m.others = 0.67  # starved by our spinning threads, still visible
    m.advance(0.3)
    assert policy.poll() == 1
    m.others = 1.0
    m.advance(0.3)
    assert policy.poll() is None  # unchanged
    m.others = 0.0
    m.advance(0.3)
    assert policy.poll() == 2
    assert policy.decisions == [2, 1, 2]
    assert m.full_samples == 2  # mark and start walk /proc for children; polls do not


def test_peers_split_the_cores(tmp_path: Path) -> None:
    m = Machine(others=0.0)
    policy = policy_on(m, tmp_path)
    other = Peers(tmp_path)
    policy.mark()
    m.advance(0.3)
    with other.generating():
        assert policy.start() == 1
        m.advance(0.3)
        assert policy.poll() is None
    m.advance(0.3)
    assert policy.poll() == 2
    other.close()


def test_unknown_load_uses_every_core(tmp_path: Path) -> None:
    class NoProc:
        cpus = frozenset({0, 1})

        def sample(self, *, full: bool = True) -> None:
            return None

        def running_others(self) -> None:
            return None

    policy = ThreadPolicy(cpus=2, meter=NoProc(), peers=Peers(tmp_path))  # type: ignore[arg-type]
    assert policy.start() == 2
    assert policy.poll() is None


def test_config_and_backend_defaults() -> None:
    assert EmbeddedConfig().n_threads is None
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        EmbeddedConfig(n_threads=0)
    path = Path("unused.gguf")
    assert EmbeddedBackend("a", model_path=path).threads.fixed is None
    fixed = EmbeddedBackend("b", model_path=path, n_threads=1)
    assert fixed.threads.fixed == 1
    assert fixed.n_threads == 1


# ---- the real backend re-tunes llama.cpp mid-call -----------------------------------------


@pytest.mark.realmodel
@pytest.mark.anyio
async def test_backend_sets_the_chosen_threads_on_llama_cpp(tmp_path: Path) -> None:
    import llama_cpp

    machine = Machine(others=0.0)
    seen: list[int] = []
    policy = policy_on(machine, tmp_path)
    backend = EmbeddedBackend(
        "local", model_path=resolve_model_path(EmbeddedConfig()), threads=policy, n_ctx=1024
    )
    polls = 0
    original_poll = policy.poll

    def poll() -> int | None:
        # every token: the fake machine moves 0.3 s; a competitor arrives at the 4th token
        nonlocal polls
        polls += 1
        machine.advance(0.3)
        machine.others = 1.0 if polls >= 4 else 0.0
        ctx = backend._llama._ctx.ctx
        seen.append(llama_cpp.llama_n_threads(ctx))
        return original_poll()

    policy.poll = poll  # type: ignore[method-assign]
    request = ChatRequest((Message.user("Count from one to twenty."),), max_tokens=12)
    try:
        machine.advance(0.3)
        result = await collect(backend, request)
    finally:
        await backend.aclose()
    assert result.usage.output_tokens > 6
    assert policy.decisions[:2] == [2, 1]
    assert seen[0] == 2  # the prompt and first tokens ran on 2 threads
    assert seen[-1] == 1  # llama.cpp itself was switched to 1
