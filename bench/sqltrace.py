"""What one request sends to PostgreSQL, from libpq's own protocol trace (bench/http_load.py,
bench/health_checks.py), and the check that the bare comparison view runs the API's SQL."""

from __future__ import annotations

import re
import tempfile

from bench.loadgen import BenchFailure

_SET_CONFIG = "SET LOCAL app.tenant_id"


def strip_context(sql: str) -> str:
    from tenants.backend.base import without_context

    return without_context(sql)


_QUERY_LINE = re.compile(r'^F\t\d+\tQuery\t "(.*)"$')


def traced_request(client, path: str, headers: dict) -> dict:
    """One request through the whole Django stack, with libpq's protocol trace on the
    connection: every message psycopg sends, whoever sends it (Django, the tenant backend's
    own cursor, psycopg's implicit BEGIN, Django's connection health check)."""
    from django.db import close_old_connections, connection
    from django.test.utils import CaptureQueriesContext
    from psycopg import pq

    # A first request opens the persistent connection and fills Django's caches.
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        raise BenchFailure(f"{path} answered {response.status_code} in-process")
    raw = connection.connection
    pgconn = raw.pgconn
    with tempfile.TemporaryFile("w+") as trace, CaptureQueriesContext(connection) as captured:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            # The test client leaves out what request_started does under a real server;
            # doing it here makes the trace show Django's per-request connection health
            # check (CONN_HEALTH_CHECKS), as gunicorn's requests pay it.
            close_old_connections()
            response = client.get(path, headers=headers)
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    if response.status_code != 200:
        raise BenchFailure(f"{path} answered {response.status_code} in-process")
    if connection.connection is not raw:
        raise BenchFailure("Django reopened the connection during the traced request")
    sent = []
    for line in lines:
        if line.startswith("F\t"):
            match = _QUERY_LINE.match(line)
            sent.append(match.group(1) if match else line.split("\t")[2])
    prefixed = [q for q in sent if q.startswith(_SET_CONFIG) and strip_context(q).strip("; ")]
    standalone = [q for q in sent if q.startswith(_SET_CONFIG) and q not in prefixed]
    return {
        "round_trips": sum(1 for ln in lines if ln.startswith("B\t") and "ReadyForQuery" in ln),
        "sent": sent,
        "prefixed": len(prefixed),
        "standalone": len(standalone),
        "health_checks": sum(1 for q in sent if q == "SELECT 1"),
        "statements": [q["sql"] for q in captured.captured_queries],
    }


def _shape(sql: str) -> str:
    # Literal values (ids, timestamps, the audit details) differ between any two requests.
    return re.sub(r"'(?:[^']|'')*'", "?", sql)


def check_same_sql(api: dict, bare: dict) -> None:
    """The bare view's statements are the API's, less authentication (the user and the
    membership reads, which only the API does: the membership check is a call of
    clinic_membership_check(), accounts.selectors)."""
    # Where the context prefix rides differs: the API sends it with its membership check
    # (already in the clinic's context), the bare view with its first query.
    api_sql = [
        _shape(strip_context(s))
        for s in api["statements"]
        if "accounts_" not in s and "clinic_membership_check(" not in s
    ]
    bare_sql = [_shape(strip_context(s)) for s in bare["statements"]]
    if api_sql != bare_sql:
        raise BenchFailure(
            "the bare view does not run the API's SQL:\n  API:  "
            + "\n        ".join(s[:150] for s in api_sql)
            + "\n  bare: "
            + "\n        ".join(s[:150] for s in bare_sql)
        )
