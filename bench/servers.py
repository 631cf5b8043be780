"""The benchmarks' own application servers (bench/http_load.py, bench/pgbouncer_load.py): gunicorn
serving the project on a scale database, in a process group of its own, on a free port."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import common
from bench.loadgen import BenchFailure


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Gunicorn:
    """gunicorn in a process group of its own, so that stopping it stops every worker."""

    def __init__(self, *, database: str, workers: int, log):
        self.database = database
        self.workers = workers
        self.port = free_port()
        # gunicorn's output, shown when it fails.
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.http_settings",
            "BENCH_DATABASE": self.database,
            "PYTHONPATH": str(common.ROOT),
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "clinic_saas.wsgi:application",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(common.ROOT),
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailure(f"gunicorn exited at start:\n{self.log_tail()}")
            try:
                status, _ = get(self.port, "/healthz")
            except OSError:
                status = None
            if status == 200 and len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.2)
        raise BenchFailure(f"gunicorn did not answer /healthz within 60 s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        import psutil

        try:
            return sorted(p.pid for p in psutil.Process(self.process.pid).children())
        except psutil.NoSuchProcess:
            return []

    def processes(self) -> list:
        """The master and its workers (psutil processes), for CPU accounting and pinning."""
        import psutil

        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children()]
        except psutil.NoSuchProcess:
            return []

    def peak_rss_mb(self) -> dict[int, float]:
        peaks = {}
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            kilobytes = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))
            peaks[pid] = kilobytes / 1024
        return peaks

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:]).rstrip() or "(no output)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
