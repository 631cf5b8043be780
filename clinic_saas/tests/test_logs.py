"""Structured request logs (issue 18, item 5): one line per request with its id, clinic,
person, method, URL pattern, status and duration; every line of a request followable by the
id it returns as X-Request-ID; no patient name, mobile or clinical text in any line."""

from __future__ import annotations

import json
import logging

import pytest

from accounts.testing import bearer
from clinic_saas.observability import JSONFormatter, RequestContextFilter, TextFormatter

PHI = {
    "first_name": "Zorawar",
    "last_name": "Pathania",
    "mobile_number": "9812345678",
    "notes": "Suspected irreversible pulpitis, lower left molar",
    "address": "7 Dhauladhar View, Kangra",
}


@pytest.fixture
def logs(caplog):
    """Every record at DEBUG, passed through the production pipeline (filter + JSON)."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RequestContextFilter())
    formatter = JSONFormatter()

    def lines() -> list[dict]:
        return [json.loads(formatter.format(record)) for record in caplog.records]

    return lines


def _requests(lines, request_id):
    return [line for line in lines if line["request_id"] == request_id]


def test_each_request_logs_one_line_followable_by_its_id(api, clinic_a, bob, logs):
    headers = bearer(bob, clinic_a)
    created = api.post("/api/v1/patients/", {**PHI, "gender": "male"}, format="json", **headers)
    assert created.status_code == 201, created.json()
    listed = api.get("/api/v1/patients/", {"search": "Zorawar"}, **headers)
    family = api.get("/api/v1/patients/families/9812345678/", **headers)
    duplicate = api.post("/api/v1/patients/", {**PHI, "gender": "male"}, format="json", **headers)
    assert duplicate.status_code == 400
    missing = api.get("/api/v1/patients/not-a-uuid/", **headers)
    lines = logs()

    ids = [r["X-Request-ID"] for r in (created, listed, family, duplicate, missing)]
    assert len(set(ids)) == 5
    for response, request_id in zip(
        (created, listed, family, duplicate, missing), ids, strict=True
    ):
        [line] = [
            entry
            for entry in _requests(lines, request_id)
            if entry["logger"] == "clinic_saas.request"
        ]
        assert line["status"] == response.status_code
        assert line["clinic_id"] == str(clinic_a.pk) and line["user_id"] == str(bob.pk)
        assert line["level"] == "INFO" and line["timestamp"].endswith("+00:00")
        assert line["method"] in ("GET", "POST") and line["duration_ms"] >= 0
        assert line["db_queries"] >= 1
        assert line["path"].startswith("/api/v1/")
    family_line = next(
        entry for entry in _requests(lines, ids[2]) if entry["logger"] == "clinic_saas.request"
    )
    # The URL pattern, never the raw path with the patient's mobile number in it.
    assert "(?P<mobile>" in family_line["path"]

    text = "\n".join(json.dumps(line) for line in lines)
    for value in (*PHI.values(), "98123", "Zorawar"):
        assert value not in text, f"{value!r} reached the logs"


def test_the_development_format_is_readable_and_also_free_of_phi(api, clinic_a, bob, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RequestContextFilter())
    headers = bearer(bob, clinic_a)
    response = api.get("/api/v1/patients/families/9812345678/", **headers)
    formatter = TextFormatter()
    text = "\n".join(formatter.format(record) for record in caplog.records)
    assert f"[{response['X-Request-ID'][:8]}]" in text
    assert "GET /api/v1/patients/families/(?P<mobile>" in text
    assert "9812345678" not in text


def test_an_anonymous_request_has_an_id_and_no_person(client, db, logs):
    response = client.get("/healthz")
    [line] = [
        entry
        for entry in _requests(logs(), response["X-Request-ID"])
        if entry["logger"] == "clinic_saas.request"
    ]
    assert line["path"] == "/healthz" and line["status"] == 200
    assert line["clinic_id"] is None and line["user_id"] is None


def test_a_client_cannot_choose_its_request_id_without_a_trusted_proxy(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    response = client.get("/healthz", HTTP_X_REQUEST_ID="chosen-by-client")
    assert response["X-Request-ID"] != "chosen-by-client"
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.get("/healthz", HTTP_X_REQUEST_ID="from-the-proxy-42")
    assert response["X-Request-ID"] == "from-the-proxy-42"


def test_logging_is_configured_once_per_line_and_quiets_the_pdf_renderer(settings):
    """Django's own console handler printed every line a second time under DEBUG."""
    import logging.config

    from django.utils.log import DEFAULT_LOGGING

    logging.config.dictConfig(DEFAULT_LOGGING)
    logging.config.dictConfig(settings.LOGGING)
    django_logger = logging.getLogger("django")
    assert django_logger.handlers == [] and django_logger.propagate
    assert [type(h).__name__ for h in logging.getLogger("django.server").handlers] == [
        "NullHandler"
    ]
    for name in ("fpdf", "fontTools", "xhtml2pdf", "reportlab"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.ERROR


def test_database_error_details_are_cut_from_logged_exceptions():
    try:
        raise RuntimeError(
            'duplicate key value violates unique constraint "patient_mobile"\n'
            "DETAIL:  Key (tenant_id, mobile_number, first_name)=(1, 9812345678, Zorawar) "
            "already exists."
        )
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    for formatter in (JSONFormatter(), TextFormatter()):
        text = formatter.format(record)
        assert "9812345678" not in text and "Zorawar" not in text and "values omitted" in text
