"""How many threads the embedded llama.cpp uses: the cores that are free, re-checked as it runs.

ggml's CPU backend splits every operation of the model's graph across its threads, and the
threads meet at a barrier after each one. The barrier spins: a thread that arrives first
busy-waits for the others. When the threads outnumber the free cores, a descheduled thread
holds up every barrier for a scheduler slice, hundreds of times per token. Measured on 2 cores
(docs/inference.md): with other work on the machine 2 threads fell to 2-13 tokens/s where 1
thread kept 15-34; ggml's polling setting does not help (the barrier spins whatever it is), so
the fix is the thread count:

- at the start of each call, from the CPU time other processes used on our cores just before
  (``/proc/stat``, minus what this process and its children used; after an idle spell, the
  threads runnable at that instant instead, so a call never waits to measure) and from the
  number of other agenthost processes generating right now (lock files in a shared folder, so
  processes started together split the cores before any of them shows up as load);
- again every ``recheck_s`` while it runs, between tokens, so a competitor that appears
  mid-call costs a fraction of a second, not the rest of the call.

An explicit ``n_threads`` in config is used as is.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: no peer counting
    fcntl = None  # type: ignore[assignment]

# Going up to another thread needs clearly free room (others below 0.25 of a core); keeping one
# needs less (others below 0.5). Our own spinning threads starve a competitor to about 2/3 of a
# core, still above the keep threshold, so the count comes down when it should.
RISE_HEADROOM = 0.25
KEEP_HEADROOM = 0.5


def choose_threads(cpus: int, others_busy: float | None, peers: int, current: int | None) -> int:
    """The thread count for a call.

    ``cpus``: threads this process may use; ``others_busy``: cores' worth of CPU that other
    processes used just now (None: unknown, e.g. not Linux); ``peers``: other agenthost
    processes generating now; ``current``: the count in use (None before the first call).
    """
    cpus = max(1, cpus)
    n = cpus
    if others_busy is not None:
        free = cpus - max(0.0, others_busy)
        up = math.floor(free + RISE_HEADROOM)
        keep = math.floor(free + KEEP_HEADROOM)
        n = up if current is None else max(up, min(current, keep))
    n = min(n, cpus // (max(0, peers) + 1))
    return max(1, min(cpus, n))


# ---- what the machine is doing -------------------------------------------------------


def cgroup_cpu_limit(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    """The cgroup v2 CPU quota in cores (``"200000 100000"`` -> 2.0), or None if unlimited."""
    try:
        quota, period = path.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def usable_cpus() -> frozenset[int]:
    """The CPUs this process may run on (its affinity mask)."""
    try:
        return frozenset(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return frozenset(range(os.cpu_count() or 1))


def cpu_budget(cpus: frozenset[int], limit: float | None) -> int:
    """How many threads the CPU set and a cgroup quota allow (at least 1)."""
    n = len(cpus) or 1
    if limit is not None:
        n = min(n, max(1, math.floor(limit)))
    return n


@dataclass(frozen=True)
class CpuSample:
    at: float  # monotonic seconds
    busy: float  # CPU seconds spent busy on our CPUs by every process (since boot)
    own: float  # CPU seconds this process and its descendants have used


def busy_seconds(stat_text: str, cpus: frozenset[int], hz: int) -> float:
    """Busy time of ``cpus`` from /proc/stat text: everything but idle and iowait (steal
    included: a hypervisor running someone else is a competitor too)."""
    total = 0
    for line in stat_text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *fields = line.split()
        try:
            index = int(name[3:])
        except ValueError:
            continue
        if index not in cpus:
            continue
        values = [int(v) for v in fields[:8]]
        values += [0] * (8 - len(values))
        user, nice, system, _idle, _iowait, irq, softirq, steal = values
        total += user + nice + system + irq + softirq + steal
    return total / hz


def others_busy(before: CpuSample, after: CpuSample, cpus: int) -> float | None:
    """Cores' worth of CPU used by other processes between two samples."""
    span = after.at - before.at
    if span <= 0:
        return None
    others = (after.busy - before.busy) - (after.own - before.own)
    return min(float(cpus), max(0.0, others / span))


def _stat_fields(pid: int | str, proc: Path) -> list[bytes] | None:
    try:
        raw = (proc / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


class CpuMeter:
    """Samples /proc/stat for our CPUs, and the CPU time of this process and its children.

    The agent's own children (MCP servers, the sandbox) work while the model waits for them;
    they are not competitors, so their time counts as ours. Finding them takes a walk of /proc
    (1-3 ms on a busy 2-core machine), done for ``full`` samples at most every ``rescan_s``;
    the other samples reread the children found last.
    """

    def __init__(
        self,
        cpus: frozenset[int] | None = None,
        *,
        proc: Path = Path("/proc"),
        clock: Callable[[], float] = time.monotonic,
        own_time: Callable[[], float] = time.process_time,
        rescan_s: float = 5.0,
    ) -> None:
        self.cpus = cpus if cpus is not None else usable_cpus()
        self.rescan_s = rescan_s
        self._scanned = -math.inf
        self.proc = proc
        self.clock = clock
        self.own_time = own_time
        try:
            self.hz = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):  # pragma: no cover
            self.hz = 100
        self.children: tuple[int, ...] = ()

    def sample(self, *, full: bool = True) -> CpuSample | None:
        """A sample, or None where the load cannot be read (not Linux, an odd /proc)."""
        try:
            return self._sample(full)
        except (OSError, ValueError, IndexError):
            return None

    def _sample(self, full: bool) -> CpuSample:
        text = (self.proc / "stat").read_text()
        if full and self.clock() - self._scanned >= self.rescan_s:
            self.children = self._descendants()
            self._scanned = self.clock()
        reaped = os.times()
        own = self.own_time() + reaped.children_user + reaped.children_system
        for pid in self.children:
            fields = _stat_fields(pid, self.proc)
            if fields is not None and len(fields) > 12:
                own += (int(fields[11]) + int(fields[12])) / self.hz  # utime, stime
        return CpuSample(self.clock(), busy_seconds(text, self.cpus, self.hz), own)

    def running_others(self) -> int | None:
        """Threads running or runnable on the machine right now, less the one asking
        (``procs_running`` in /proc/stat; machine-wide, so an overestimate on a shared host)."""
        try:
            text = (self.proc / "stat").read_text()
            for line in text.splitlines():
                if line.startswith("procs_running "):
                    return max(0, int(line.split()[1]) - 1)
        except (OSError, ValueError, IndexError):
            pass
        return None

    def _descendants(self) -> tuple[int, ...]:
        kids: dict[int, list[int]] = {}
        try:
            entries = list(os.scandir(self.proc))
        except OSError:
            return ()
        for entry in entries:
            if not entry.name.isdigit():
                continue
            fields = _stat_fields(entry.name, self.proc)
            if fields is not None and len(fields) > 1:
                kids.setdefault(int(fields[1]), []).append(int(entry.name))
        found: list[int] = []
        todo = [os.getpid()]
        while todo:
            for child in kids.get(todo.pop(), ()):
                found.append(child)
                todo.append(child)
        return tuple(found)


# ---- other agenthost processes generating now ----------------------------------------


def default_peers_folder() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"agenthost-{uid}" / "llama-users"


_serial = itertools.count()


class Peers:
    """Counts the llama.cpp users on this machine that are generating right now.

    Each user holds an exclusive ``flock`` on its own file in a shared folder while it
    generates; a lock dies with its process, so a crashed user never counts.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or default_peers_folder()
        self.name = f"{os.getpid()}-{next(_serial)}"
        self._file: IO[bytes] | None = None
        self.enabled = fcntl is not None

    def others(self) -> int:
        """Other users holding their lock now."""
        if not self.enabled:
            return 0
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return 0
        count = 0
        for entry in entries:
            if entry.name == self.name:
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                count += 1
            except OSError:
                pass
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                _remove_if_dead(entry.path, entry.name)
            finally:
                os.close(fd)
        return count

    @contextlib.contextmanager
    def generating(self) -> Iterator[None]:
        """Hold our lock (count as a user) for the duration of the block."""
        locked = self._lock()
        try:
            yield
        finally:
            if locked and self._file is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def _lock(self) -> bool:
        if not self.enabled:
            return False
        try:
            if self._file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._file = (self.folder / self.name).open("ab")
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # an unwritable temp folder must not stop generation
        return True

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            with contextlib.suppress(OSError):
                (self.folder / self.name).unlink()
            self._file = None


def _remove_if_dead(path: str, name: str) -> None:
    """Delete a user's file whose process is gone (files are named ``<pid>-<n>``)."""
    try:
        pid = int(name.split("-", 1)[0])
    except ValueError:
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        with contextlib.suppress(OSError):
            os.unlink(path)
    except OSError:
        pass  # alive (another user's process)


# ---- the policy ----------------------------------------------------------------------


@dataclass
class ThreadPolicy:
    """Chooses llama.cpp's thread count at the start of each call and re-checks it during.

    ``fixed`` (config's ``n_threads``) switches all of it off. ``decisions`` records every
    count set, in order (tests and ``health`` read it).
    """

    fixed: int | None = None
    cpus: int | None = None
    meter: CpuMeter | None = None
    peers: Peers | None = None
    clock: Callable[[], float] = time.monotonic
    recheck_s: float = 0.25  # between re-checks during a call
    min_window_s: float = 0.1  # shortest window a start decision measures over
    max_age_s: float = 2.0  # a baseline older than this is stale: look at the instant instead
    current: int | None = None
    decisions: list[int] = field(default_factory=list)
    last_busy: float | None = None  # others' cores at the last decision
    _last: CpuSample | None = None
    _next_check: float = 0.0

    def __post_init__(self) -> None:
        if self.peers is None:
            self.peers = Peers()  # a fixed count still counts as a user for the others
        if self.fixed is not None:
            return
        if self.meter is None:
            self.meter = CpuMeter(clock=self.clock)
        if self.cpus is None:
            self.cpus = cpu_budget(self.meter.cpus, cgroup_cpu_limit())

    @property
    def max_threads(self) -> int:
        return self.fixed if self.fixed is not None else max(1, self.cpus or 1)

    def mark(self) -> None:
        """Take a baseline sample now (before loading the model, after a call)."""
        if self.meter is not None:
            self._last = self.meter.sample() or self._last

    def start(self) -> int:
        """The count for a call that starts now."""
        if self.fixed is not None:
            return self._set(self.fixed)
        assert self.meter is not None
        now = self.meter.sample()
        base = self._last
        busy: float | None = None
        if now is not None:
            age = now.at - base.at if base is not None else math.inf
            if base is not None and self.min_window_s <= age <= self.max_age_s:
                busy = others_busy(base, now, self.max_threads)
            elif age < self.min_window_s and self.last_busy is not None:
                busy = self.last_busy  # the last call just ended: its estimate still holds
            else:
                # No recent baseline (idle for a while): what is running at this instant. A
                # CPU-bound competitor always is; a wrong guess is corrected by the first poll.
                running = self.meter.running_others()
                busy = None if running is None else float(min(running, self.max_threads))
            if age >= self.min_window_s:
                self._last = now
        self._next_check = self.clock() + self.recheck_s
        return self._decide(busy)

    def poll(self) -> int | None:
        """Between tokens: a new count if the machine changed, else None. Cheap when not due."""
        if self.fixed is not None or self.clock() < self._next_check:
            return None
        assert self.meter is not None
        self._next_check = self.clock() + self.recheck_s
        now = self.meter.sample(full=False)
        if now is None or self._last is None:
            return None
        busy = others_busy(self._last, now, self.max_threads)
        self._last = now
        before = self.current
        n = self._decide(busy)
        return n if n != before else None

    def end(self) -> None:
        """The call ended: the next start measures from here."""
        if self.fixed is None:
            self.mark()

    def _decide(self, busy: float | None) -> int:
        if busy is not None:
            self.last_busy = busy
        peers = self.peers.others() if self.peers is not None else 0
        return self._set(choose_threads(self.max_threads, busy, peers, self.current))

    def _set(self, n: int) -> int:
        if n != self.current:
            self.decisions.append(n)
        self.current = n
        return n

    @contextlib.contextmanager
    def generating(self) -> Iterator[None]:
        """Count this process as a machine-wide llama.cpp user for the block."""
        if self.peers is None:
            yield
            return
        with self.peers.generating():
            yield

    def describe(self) -> str:
        if self.fixed is not None:
            return f"{self.fixed} threads"
        now = f", {self.current} at the last call" if self.current else ""
        return f"threads from free cores, up to {self.max_threads}{now}"

    def close(self) -> None:
        if self.peers is not None:
            self.peers.close()
