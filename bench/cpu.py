"""Where the CPU goes in a load benchmark (bench/pgbouncer_load.py): the CPU time groups of
processes use over a round (the application servers, PostgreSQL's processes, a pooler), and
pinning processes to CPUs, so that one of them can have a core of its own."""

from __future__ import annotations

import contextlib
from pathlib import Path

from bench.loadgen import BenchFailure


def postgres_processes(socket_dir: str) -> list:
    """The PostgreSQL server listening on `socket_dir`: its postmaster and every process it
    has started (the backends of both servers' connections, PgBouncer's included)."""
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "-D" not in cmdline[:-1]:
            continue
        # postmaster.pid's fifth line is the folder of the server's Unix socket.
        pidfile = Path(cmdline[cmdline.index("-D") + 1]) / "postmaster.pid"
        with contextlib.suppress(OSError):
            lines = pidfile.read_text().splitlines()
            if len(lines) > 4 and Path(lines[4]) == Path(socket_dir):
                return [process, *process.children()]
    raise BenchFailure(f"no PostgreSQL server found on the socket folder {socket_dir}")


class CpuMeter:
    """CPU time (user + system) that groups of processes use over a round. `groups` is called
    at the start and at the end, and returns the processes of each group at that moment; a
    process is charged what it used between the two (from 0 if it started in between)."""

    def __init__(self, groups):
        self.groups = groups

    @staticmethod
    def _read(processes) -> dict[int, float]:
        import psutil

        times = {}
        for process in processes:
            with contextlib.suppress(psutil.Error):
                cpu = process.cpu_times()
                times[process.pid] = cpu.user + cpu.system
        return times

    def __enter__(self):
        import resource

        self._start = {name: self._read(ps) for name, ps in self.groups().items()}
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.used: dict[str, float] = {}
        return self

    def __exit__(self, *exc) -> None:
        import resource

        for name, processes in self.groups().items():
            start = self._start.get(name, {})
            end = self._read(processes)
            self.used[name] = sum(t - start.get(pid, 0.0) for pid, t in end.items())
        # The load generator is this process's child, waited for within the round.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.used["load generator"] = (children.ru_utime - self._children.ru_utime) + (
            children.ru_stime - self._children.ru_stime
        )


def pin(processes, cpus: set[int]) -> None:
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.cpu_affinity(sorted(cpus))
