"""Through PgBouncer: HTTP throughput with PgBouncer in transaction mode against direct
connections, at equal client concurrency, and every returned row checked for its clinic.

    python bench/pgbouncer_load.py [--clinics 300] [--patients 1000] [--rounds 4] [--seconds 10]
                                   [--workers 2] [--pool-size 2] [--pin]

* Two gunicorn servers (bench/servers.py; 2 sync workers each unless --workers) serve the
  project on the scale database of bench/datagen.py with the same settings
  (DB_POOL_MODE=transaction: no per-request health check, no server-side cursors, as behind a
  pooler). One connects to PostgreSQL directly; the other through our own PgBouncer (Debian's
  /usr/sbin/pgbouncer, started here on a free port: transaction mode, pool size 2 unless
  --pool-size, like deploy/pgbouncer.ini and .ci/pgbouncer-suite), which reaches PostgreSQL
  over the same Unix socket.
* A load generator process (this script with --load-generator: threads with http.client, a
  fixed number of connections) asks `GET /api/v1/patients/` for random clinics with each
  owner's JWT. Rounds alternate direct, PgBouncer, direct, ...; the report gives medians of
  requests per second, and the median of each round's PgBouncer/direct ratio (goal >= 0.9x).
* Leaks: every patient of every answer must be the requester's clinic's. bench/datagen.py
  gives each clinic's patients mobiles starting `9<clinic number mod 1000>`, so the check is
  the mobile's prefix (the first 1,000 clinics only: their prefixes are unique). Goal: 0.
* Where the time goes (bench/cpu.py): each round reads the CPU time its processes used (the
  gunicorn workers, PostgreSQL's processes, PgBouncer, the load generator), per request, and
  how busy the CPUs were. A side whose CPUs are not all busy is waiting, not computing: with
  one sync worker per CPU, every round trip through the extra hop leaves a worker idle.
* --pin gives PgBouncer a core of its own, as in production (its own host, or a core the
  application servers do not use): PgBouncer on the last CPU, and the gunicorn workers,
  PostgreSQL and the load generator on the others, for both sides alike (so on the direct
  side that core stays idle). Needs at least 2 CPUs.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.cpu import CpuMeter, pin, postgres_processes
from bench.http_load import API_PATH, BENCH_THROTTLE, log
from bench.loadgen import BenchFailure, run_threads, spawn_load
from bench.servers import Gunicorn, free_port

RATIO_GOAL = 0.9
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


# --- The load generator (its own process) -------------------------------------------------


def _hammer(port, targets, deadline, seed, out) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    done, statuses, rows, leaks, errors = 0, Counter(), 0, 0, []
    while time.perf_counter() < deadline:
        path, headers, prefix = rng.choice(targets)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            statuses["connection error"] += 1
            errors.append(repr(exc))
            continue
        statuses[str(response.status)] += 1
        if response.status != 200:
            errors.append(f"{response.status} for {path}")
            continue
        done += 1
        for patient in json.loads(body)["results"]:
            rows += 1
            if not patient["mobile_number"][-10:].startswith(prefix):
                leaks += 1
    connection.close()
    out.update(done=done, statuses=statuses, rows=rows, leaks=leaks, errors=errors[:5])


def load_generator() -> None:
    job = json.load(sys.stdin)
    results, elapsed, statuses, errors = run_threads(job, _hammer)
    json.dump(
        {
            "elapsed": elapsed,
            "done": sum(r["done"] for r in results),
            "rows": sum(r["rows"] for r in results),
            "leaks": sum(r["leaks"] for r in results),
            "statuses": statuses,
            "errors": errors,
        },
        sys.stdout,
    )


def run_load(port: int, targets: list, *, seconds: float, connections: int, seed: int) -> dict:
    return spawn_load(__file__, port, targets, seconds=seconds, connections=connections, seed=seed)


# --- PgBouncer ----------------------------------------------------------------------------


class PgBouncer:
    """Our own PgBouncer in transaction mode in front of the given server."""

    def __init__(self, *, socket_dir: str, server_port: int, owner: str | None, pool_size: int):
        self.pool_size = pool_size
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pgbouncer-"))
        self.owner = owner
        self.socket_dir, self.server_port = socket_dir, server_port

    def start(self) -> None:
        ini = self.dir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.socket_dir} port={self.server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.dir}\n"
            f"auth_type = trust\nauth_file = {self.dir}/userlist.txt\n"
            f"pool_mode = transaction\ndefault_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\n"
            "query_wait_timeout = 60\nserver_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits\nadmin_users = postgres\n"
            f"logfile = {self.dir}/pgbouncer.log\npidfile = {self.dir}/pgbouncer.pid\n"
        )
        users = ("clinic_app", "clinic_owner", "clinic_platform", "postgres")
        (self.dir / "userlist.txt").write_text("".join(f'"{u}" ""\n' for u in users))
        command = [PGBOUNCER, "-d"]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: run it as the user that owns the database's
            # socket folder, which can reach the socket.
            shutil.chown(self.dir, self.owner)
            for path in self.dir.iterdir():
                shutil.chown(path, self.owner)
            command += ["-u", self.owner]
        subprocess.run([*command, str(ini)], check=True)
        for _ in range(50):
            try:
                with __import__("socket").create_connection(("127.0.0.1", self.port), 1):
                    return
            except OSError:
                time.sleep(0.2)
        raise BenchFailure(f"pgbouncer did not start: {self.log_tail()}")

    def transactions(self, database: str) -> int:
        """Transactions PgBouncer has passed to the database (its SHOW STATS): proof that the
        pooled side's queries really went through it."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, dbname="pgbouncer", user="postgres", autocommit=True
        ) as admin:
            cursor = admin.execute("SHOW STATS")
            names = [column.name for column in cursor.description]
            for row in cursor.fetchall():
                stats = dict(zip(names, row, strict=True))
                if stats["database"] == database:
                    return int(stats["total_xact_count"])
        return 0

    def log_tail(self) -> str:
        path = self.dir / "pgbouncer.log"
        return path.read_text()[-2000:] if path.exists() else "(no log)"

    def process(self):
        import psutil

        return psutil.Process(int((self.dir / "pgbouncer.pid").read_text().strip()))

    def stop(self) -> None:
        pidfile = self.dir / "pgbouncer.pid"
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)


# --- Main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=300)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument(
        "--pool-size",
        type=int,
        default=2,
        help="PgBouncer's default_pool_size (server connections)",
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--tcp", action="store_true", help="reach PgBouncer over TCP (default: its Unix socket)"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="PgBouncer on a CPU of its own, everything else on the others (both sides)",
    )
    parser.add_argument("--load-generator", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator:
        load_generator()
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(args)
    except BenchFailure as exc:
        log(f"pgbouncer_load: FAILED: {exc}")
        sys.exit(1)


def run(args) -> None:
    import warnings

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    os.environ.setdefault("THROTTLE_CLINIC", BENCH_THROTTLE)
    # The same application settings on both sides: what a pooler in transaction mode needs.
    os.environ["DB_POOL_MODE"] = "transaction"
    from bench import datagen
    from bench.http_load import clinic_owners

    database = datagen.database_name(args.clinics, args.patients)
    datagen.ensure(args.clinics, args.patients, quiet=True)
    from django.conf import settings

    from accounts.tokens import issue_tokens

    clinics = datagen.bench_clinics()[: min(args.clinics, 1000)]
    owners = clinic_owners(clinics)
    targets = []
    for number, clinic in enumerate(clinics):
        token = issue_tokens(owners[clinic.id])["access"]
        targets.append([API_PATH, {"Authorization": f"Bearer {token}"}, f"9{number % 1000:03d}"])
    config = settings.DATABASES["default"]
    socket_dir, server_port = config["HOST"], config.get("PORT") or 5432
    if not str(socket_dir).startswith("/"):
        raise BenchFailure("this benchmark expects the database on a Unix socket (embedded)")
    where = common.machine()
    from django.db import connections

    for connection in connections.all():
        connection.close()

    pooler = PgBouncer(
        socket_dir=socket_dir,
        server_port=server_port,
        owner=Path(socket_dir).owner(),
        pool_size=args.pool_size,
    )
    # Both servers get their databases the same way (URLs, as in a deployment); only the
    # address differs: PostgreSQL's own socket, or PgBouncer's port.
    socket, tcp = quote(str(socket_dir), safe="/"), args.tcp
    addresses = {
        "direct": f"postgres://{{user}}@:{server_port}/{database}?host={socket}",
        # PgBouncer's own Unix socket (the pooled side pays the pooler's hop, not TCP's);
        # --tcp makes it connect over 127.0.0.1 instead.
        "PgBouncer": (
            f"postgres://{{user}}@127.0.0.1:{pooler.port}/{database}"
            if tcp
            else f"postgres://{{user}}@:{pooler.port}/{database}?host={quote(str(pooler.dir))}"
        ),
    }
    users = {
        "DATABASE_URL": config["USER"],
        "DATABASE_PLATFORM_URL": settings.DATABASES["platform"]["USER"],
        "DATABASE_OWNER_URL": settings.DATABASES["owner"]["USER"],
    }
    servers = {}
    with (
        tempfile.TemporaryFile("w+") as direct_log,
        tempfile.TemporaryFile("w+") as pooled_log,
    ):
        logs = {"direct": direct_log, "PgBouncer": pooled_log}
        try:
            pooler.start()
            log(
                f"pgbouncer: transaction mode, pool size {args.pool_size}, "
                f"on 127.0.0.1:{pooler.port}"
            )
            for name, url in addresses.items():
                saved = {key: os.environ.get(key) for key in users}
                os.environ.update({key: url.format(user=user) for key, user in users.items()})
                try:
                    servers[name] = Gunicorn(
                        database=database, workers=args.workers, log=logs[name]
                    )
                    servers[name].start()
                finally:
                    for key, value in saved.items():
                        if value is None:
                            os.environ.pop(key, None)
                        else:
                            os.environ[key] = value
            if args.pin:
                cpus = pin_pooler_apart(pooler, servers, socket_dir)
                log(f"pinned: PgBouncer on CPU {cpus[1]}, everything else on {cpus[0]}")
            load = {"connections": args.connections}
            for name, server in servers.items():
                log(f"warm-up: {name}")
                run_load(server.port, targets, seconds=args.warmup, seed=0, **load)
            results = {name: [] for name in servers}
            for number in range(1, args.rounds + 1):
                order = list(servers) if number % 2 else list(servers)[::-1]
                for name in order:
                    groups = {
                        "gunicorn": lambda name=name: servers[name].processes(),
                        "PostgreSQL": lambda: postgres_processes(socket_dir),
                        "PgBouncer": lambda: [pooler.process()],
                    }
                    with CpuMeter(lambda groups=groups: {k: f() for k, f in groups.items()}) as cpu:
                        result = run_load(
                            servers[name].port, targets, seconds=args.seconds, seed=number, **load
                        )
                    result["rps"] = result["done"] / result["elapsed"]
                    result["cpu"] = cpu.used
                    results[name].append(result)
                    log(
                        f"round {number}/{args.rounds} {name:9}: {result['rps']:7.1f} req/s, "
                        f"{result['rows']:,} rows, {result['leaks']} leaks, CPU "
                        f"{sum(cpu.used.values()) / result['done'] * 1000:.2f} ms/request"
                    )
            pooled_transactions = pooler.transactions(database)
        finally:
            for server in servers.values():
                server.stop()
            pooler.stop()
            if args.pin:
                # The database server outlives the benchmark: give it every CPU back.
                pin(postgres_processes(socket_dir), set(range(os.cpu_count())))
                os.sched_setaffinity(0, set(range(os.cpu_count())))
    if not pooled_transactions:
        raise BenchFailure("PgBouncer passed no transaction: the pooled side did not use it")

    print(f"Through PgBouncer (transaction mode, pool size {args.pool_size}) vs direct connections")
    print(where)
    print(
        f"database {database}; gunicorn, {args.workers} sync workers each, "
        "DB_POOL_MODE=transaction on both; "
        f"PgBouncer reached over {'TCP' if args.tcp else 'its Unix socket'}; "
        f"GET {API_PATH} for random clinics of {len(targets):,}, {args.connections} client "
        f"connections; {args.rounds} interleaved rounds of {args.seconds:g} s (medians)"
    )
    rows = []
    median = {name: statistics.median(r["rps"] for r in rs) for name, rs in results.items()}
    for name, rs in results.items():
        rows.append(
            [
                name,
                f"{median[name]:.1f}",
                f"{sum(r['done'] for r in rs):,}",
                f"{sum(r['rows'] for r in rs):,}",
                str(sum(r["leaks"] for r in rs)),
                f"{median[name] / median['direct']:.2f}x",
            ]
        )
    print(common.table(rows, ["path", "req/s", "requests", "rows checked", "leaks", "vs direct"]))
    print(f"transactions PgBouncer passed to PostgreSQL (SHOW STATS): {pooled_transactions:,}")
    # Each round's two runs are next to each other in time: the median of their ratios is
    # what the shared machine's swings (other work starting and stopping) disturb least.
    pairs = [
        pooled["rps"] / direct["rps"]
        for pooled, direct in zip(results["PgBouncer"], results["direct"], strict=True)
    ]
    print(
        "per-round ratios: "
        + ", ".join(f"{r:.2f}" for r in pairs)
        + f"; ratio of the medians: {median['PgBouncer'] / median['direct']:.2f}x"
    )
    print_cpu(results)
    ratio = statistics.median(pairs)
    leaks = sum(r["leaks"] for rs in results.values() for r in rs)
    print(
        f"PgBouncer/direct throughput (median of the rounds' ratios): {ratio:.2f}x "
        f"(goal >= {RATIO_GOAL}x: "
        f"{common.verdict(ratio, RATIO_GOAL, higher_is_better=True)}); leaks: {leaks} "
        f"(goal 0: {common.verdict(leaks, 0)})"
    )


def pin_pooler_apart(pooler: PgBouncer, servers: dict, socket_dir: str) -> tuple[str, int]:
    """PgBouncer on the last CPU; the gunicorn servers, PostgreSQL (its postmaster, so later
    backends too) and this process (so the load generators it starts) on the others."""
    count = os.cpu_count() or 1
    if count < 2:
        raise BenchFailure("--pin needs at least 2 CPUs")
    rest = set(range(count - 1))
    pin([pooler.process()], {count - 1})
    pin(postgres_processes(socket_dir), rest)
    for server in servers.values():
        pin(server.processes(), rest)
    os.sched_setaffinity(0, rest)
    listed = f"{min(rest)}-{max(rest)}" if len(rest) > 1 else str(min(rest))
    return listed, count - 1


def print_cpu(results: dict) -> None:
    """CPU per request of each group of processes (medians over the rounds), and how busy
    the CPUs were: where the pooled side's extra time goes."""
    names = ["gunicorn", "PostgreSQL", "PgBouncer", "load generator"]
    rows = []
    for side, rounds in results.items():
        per = {
            name: statistics.median(r["cpu"][name] / r["done"] * 1e6 for r in rounds)
            for name in names
        }
        busy = statistics.median(
            sum(r["cpu"].values()) / (r["elapsed"] * (os.cpu_count() or 1)) for r in rounds
        )
        rows.append(
            [side, *(f"{per[name]:,.0f}" for name in names), f"{sum(per.values()):,.0f}"]
            + [f"{busy:.0%}"]
        )
    print("CPU per request, in µs (medians of the rounds), and how busy all CPUs were:")
    print(common.table(rows, ["path", *names, "total", "CPUs busy"]))


if __name__ == "__main__":
    main()
