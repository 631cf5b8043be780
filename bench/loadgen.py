"""The load generators' shared parts (bench/http_load.py, bench/pgbouncer_load.py): a process
of its own that keeps a number of HTTP connections busy until a deadline, each thread running
the benchmark's own loop, and the parent's side that starts it and checks its answer."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter


class BenchFailure(Exception):
    """A readable reason the benchmark cannot give valid numbers."""


def run_threads(job: dict, hammer) -> tuple[list[dict], float, Counter, list[str]]:
    """Run `hammer` on job["connections"] threads until the job's deadline. Returns each
    thread's results, the elapsed time, the statuses of all, and the first errors."""
    results = [{} for _ in range(job["connections"])]
    start = time.perf_counter()
    deadline = start + job["seconds"]
    threads = [
        threading.Thread(
            target=hammer,
            args=(job["port"], job["targets"], deadline, job["seed"] * 1000 + n, results[n]),
        )
        for n in range(job["connections"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    statuses = Counter()
    for result in results:
        statuses.update(result["statuses"])
    return results, elapsed, statuses, [e for result in results for e in result["errors"]][:5]


def spawn_load(
    script: str, port: int, targets: list, *, seconds: float, connections: int, seed: int
) -> dict:
    """Run `script --load-generator` in a process of its own on this job, and return its
    results; raises BenchFailure when it fails or any request is refused."""
    job = {
        "port": port,
        "targets": targets,
        "seconds": seconds,
        "connections": connections,
        "seed": seed,
    }
    done = subprocess.run(
        [sys.executable, script, "--load-generator"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchFailure(f"the load generator failed:\n{done.stderr.strip()}")
    result = json.loads(done.stdout)
    bad = {status: n for status, n in result["statuses"].items() if status != "200"}
    if bad:
        raise BenchFailure(
            f"requests failed during the load ({bad}); first: {'; '.join(result['errors'])}"
        )
    return result
