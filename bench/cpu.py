"""CPU time of the stack's parts, per phase of the benchmark.

A sampler thread reads, every ``interval`` seconds, the user + system CPU time of every process
of each group: a process tree (gunicorn's master and workers, Celery's worker and its pool ...)
or, for the database, the PostgreSQL backends connected to the run's database. It keeps the
last reading of every process it has seen, so a process that ends between two phases still
counts up to its last reading (at most ``interval`` seconds of its time are lost). A phase's
figure is the growth of those readings between ``mark()`` and ``since()``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil

ProcessKey = tuple[int, float]  # pid and creation time: a pid may be reused


@dataclass(frozen=True)
class Mark:
    readings: dict[ProcessKey, float]
    machine: float  # busy seconds of the whole machine (every core)


class CpuMeter:
    def __init__(self, *, database: str = "", interval: float = 0.5) -> None:
        self.database = database
        self.interval = interval
        self.trees: dict[int, str] = {}  # root pid -> group
        self._readings: dict[ProcessKey, float] = {}
        self._groups: dict[ProcessKey, str] = {}
        self._backend_database: dict[ProcessKey, bool] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-cpu", daemon=True)
        self._postmaster = _postmaster()

    def watch(self, group: str, pid: int) -> None:
        """Count the process ``pid`` and its descendants as ``group`` (from now on)."""
        with self._lock:
            self.trees[pid] = group

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def mark(self) -> Mark:
        self.sample()
        with self._lock:
            return Mark(dict(self._readings), _machine_busy())

    def since(self, mark: Mark) -> dict[str, float]:
        """CPU seconds per group since ``mark``; ``machine`` is the whole machine's busy time
        (every process, the benchmark's and any other work on the machine included)."""
        self.sample()
        totals: dict[str, float] = {}
        with self._lock:
            for key, value in self._readings.items():
                group = self._groups[key]
                totals[group] = totals.get(group, 0.0) + value - mark.readings.get(key, 0.0)
        totals["machine"] = _machine_busy() - mark.machine
        return {group: round(seconds, 2) for group, seconds in totals.items()}

    def sample(self) -> None:
        with self._lock:
            trees = dict(self.trees)
        found: list[tuple[ProcessKey, str, float]] = []
        for pid, group in trees.items():
            found += _tree(group, pid)
        if self._postmaster is not None and self.database:
            found += self._backends(self._postmaster)
        with self._lock:
            for key, group, seconds in found:
                self._readings[key] = seconds
                self._groups[key] = group

    def _backends(self, postmaster: psutil.Process) -> list[tuple[ProcessKey, str, float]]:
        found = []
        try:
            children = postmaster.children()
        except psutil.Error:
            return []
        for process in children:
            try:
                key = (process.pid, process.create_time())
                ours = self._backend_database.get(key)
                if ours is None:
                    # A backend's title names its user, database, client and state.
                    title = " ".join(process.cmdline())
                    ours = f" {self.database} " in title
                    self._backend_database[key] = ours
                if ours:
                    found.append((key, "database", _seconds(process)))
            except psutil.Error:
                continue
        return found

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def _seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _tree(group: str, pid: int) -> list[tuple[ProcessKey, str, float]]:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    found = []
    for process in processes:
        try:
            found.append(((process.pid, process.create_time()), group, _seconds(process)))
        except psutil.Error:
            continue
    return found


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(
        times.user
        + times.system
        + getattr(times, "nice", 0.0)
        + getattr(times, "irq", 0.0)
        + getattr(times, "softirq", 0.0)
    )


def _postmaster() -> psutil.Process | None:
    """The PostgreSQL server process on this machine (the parent of the backends), if any."""
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] != "postgres":
                continue
            parent = process.parent()
            if parent is None or parent.name() != "postgres":
                return process
        except psutil.Error:
            continue
    return None
