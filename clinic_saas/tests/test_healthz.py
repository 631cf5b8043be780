from __future__ import annotations

import pytest
from django.db import connection


def test_healthz_checks_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def database_down(live_db):
    """Point the runtime connection at a socket where nothing listens."""
    connection.close()
    original = connection.settings_dict["HOST"]
    connection.settings_dict["HOST"] = "/nonexistent-socket-dir"
    yield
    connection.close()
    connection.settings_dict["HOST"] = original


def test_healthz_answers_503_when_the_database_is_down(client, database_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
