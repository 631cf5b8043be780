"""The embedded PostgreSQL starts, is reused, and survives crashes and stale locks."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psycopg
import pytest

from clinic_saas import embedded_db


def _connect(socket_dir: Path, user: str = "clinic_app"):
    return psycopg.connect(host=str(socket_dir), user=user, dbname="clinic_saas", connect_timeout=5)


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def data_dir(tmp_path_factory):
    path = Path(tmp_path_factory.mktemp("pg")) / "data"
    yield path
    embedded_db.stop(path)


def test_fresh_start_creates_the_roles_and_is_reused(data_dir):
    socket_dir = embedded_db.ensure_running(data_dir)
    with _connect(socket_dir) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "clinic_app"
        assert (
            conn.execute(
                "SELECT rolbypassrls FROM pg_roles WHERE rolname = 'clinic_platform'"
            ).fetchone()[0]
            is True
        )
    pid = _postmaster_pid(data_dir)
    assert embedded_db.ensure_running(data_dir) == socket_dir
    assert _postmaster_pid(data_dir) == pid, "a running server is reused, not restarted"
    assert "running" in embedded_db.status(data_dir)


def test_survives_a_crashed_server(data_dir):
    embedded_db.ensure_running(data_dir)
    os.kill(_postmaster_pid(data_dir), signal.SIGKILL)
    time.sleep(0.5)
    socket_dir = embedded_db.ensure_running(data_dir)
    with _connect(socket_dir) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_survives_a_stale_lock_whose_pid_was_reused(data_dir):
    embedded_db.ensure_running(data_dir)
    assert embedded_db.stop(data_dir) is True
    # A postmaster.pid left behind by a crash, naming a pid that now belongs to another
    # process (this test itself): PostgreSQL alone would refuse to start.
    (data_dir / "postmaster.pid").write_text(
        f"{os.getpid()}\n{data_dir}\n1700000000\n5432\n{data_dir}\n\n  5432001  0\nready\n"
    )
    socket_dir = embedded_db.ensure_running(data_dir)
    with _connect(socket_dir) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_stop_is_clean_and_idempotent(data_dir):
    embedded_db.ensure_running(data_dir)
    assert embedded_db.stop(data_dir) is True
    assert not (data_dir / "postmaster.pid").exists()
    assert embedded_db.stop(data_dir) is False
    assert embedded_db.status(data_dir).startswith("stopped")
