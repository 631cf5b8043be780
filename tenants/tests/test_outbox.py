"""The e-mail outbox (tenants.outbox): written with the change, sent by a worker that retries,
never lost; the runtime role may only append to it and read its progress; password reset does
the same work for known and unknown addresses.

Most tests commit (`live_db`): the worker reads the outbox through the platform role's own
connection, which sees only committed rows.
"""

from __future__ import annotations

import io
import json
import re
import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.testing import create_clinic, create_user
from clinics.tests.admin_helpers import log_in
from tenants import dbroles
from tenants.checks import inspect_database
from tenants.context import tenant_context
from tenants.models import AuditEvent, OutboxEmail
from tenants.outbox import outbox_backlog, send_templated_email
from tenants.platform import platform_access

SENT_BY_BACKEND: list = []


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every connection (it was killed)."""

    def open(self):
        raise ConnectionRefusedError(111, "Connection refused")

    def send_messages(self, email_messages):
        self.open()


class CountingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        SENT_BY_BACKEND.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def outbox_only(settings):
    """The real path: nothing but the worker hands e-mails to the mail backend."""
    settings.OUTBOX_DELIVER_ON_COMMIT = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    SENT_BY_BACKEND.clear()


def rows(**filters) -> list[OutboxEmail]:
    with platform_access(reason="test: read the outbox"):
        return list(OutboxEmail.objects.filter(**filters).order_by("created_at"))


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_an_email_is_queued_with_its_change_and_sent_only_by_the_worker(live_db, outbox_only, api):
    response = api.post(
        "/api/v1/tenants/register-clinic",
        {
            "clinic_name": "Green Valley Clinic",
            "clinic_phone": "080 4000 1234",
            "clinic_address": "5 Lake Road, Mysuru",
            "owner_first_name": "Neha",
            "owner_last_name": "Joshi",
            "owner_email": "neha@greenvalley.example",
            "owner_phone": "9845098450",
            "password": "Lotus-Pond-4821",
            "role": "admin",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    # The request queued the e-mail and sent nothing.
    assert mail.outbox == []
    [queued] = rows()
    assert queued.template == "verify-email" and queued.status == OutboxEmail.Status.PENDING
    assert queued.recipient == "neha@greenvalley.example"

    assert "1 sent" in run("send_outbox", "--once")
    [message] = mail.outbox
    assert message.to == ["neha@greenvalley.example"] and "/verify-email/" in message.body
    [sent] = rows()
    assert sent.status == OutboxEmail.Status.SENT and sent.attempts == 1
    # A sent e-mail's one-time link is not kept.
    assert sent.body_text == "" and sent.body_html == ""
    # Sending again sends nothing twice.
    run("send_outbox", "--once")
    assert len(mail.outbox) == 1


def test_a_rolled_back_change_queues_nothing(live_db, outbox_only):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    with pytest.raises(RuntimeError), tenant_context(clinic):
        send_templated_email("verify-email", to="x@example.com", context={"user": clinic.owner})
        raise RuntimeError("the change failed")
    assert rows() == []
    run("send_outbox", "--once")
    assert mail.outbox == []


def test_a_killed_mail_server_delays_emails_and_loses_none(live_db, outbox_only, settings, api):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    # Django's real SMTP backend, pointed at a port where the mail server was killed.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_SECONDS = 600
    with tenant_context(clinic):
        send_templated_email(
            "verify-email", to="alice@asha.example", context={"user": clinic.owner}
        )
    response = api.post(
        "/api/v1/auth/password-reset", {"email": "alice@asha.example"}, format="json"
    )
    assert response.status_code == 202  # the request did not wait on the dead server

    run("send_outbox", "--once")
    pending = rows()
    assert [e.status for e in pending] == ["pending", "pending"]
    assert all(e.attempts == 1 and "ConnectionRefused" in e.last_error for e in pending), [
        e.last_error for e in pending
    ]

    run("send_outbox", "--once")  # not due for ten minutes: no attempt
    assert [e.attempts for e in rows()] == [1, 1]
    with platform_access(reason="test: make them due"):
        OutboxEmail.objects.update(next_attempt_at=timezone.now())
    settings.OUTBOX_RETRY_SECONDS = 0  # retry at once, so the test need not wait
    run("send_outbox", "--once")
    run("send_outbox", "--once")
    failed = rows()
    assert [(e.status, e.attempts) for e in failed] == [("failed", 3), ("failed", 3)]

    # Operators see the failures: per clinic in `tenants --json`, every one in send_outbox.
    [listed] = json.loads(run("tenants", "--json"))
    assert listed["emails"] == {"pending": 0, "failed": 1}
    failures = json.loads(run("send_outbox", "--failed", "--json"))
    assert sorted(f["template"] for f in failures) == ["password-reset", "verify-email"]
    assert mail.outbox == []

    # The server is back: the failed e-mails are queued again and each is delivered once.
    settings.EMAIL_BACKEND = "tenants.tests.test_outbox.CountingBackend"
    assert "2 failed e-mail(s) queued again" in run("send_outbox", "--retry-failed")
    run("send_outbox", "--once")
    run("send_outbox", "--once")
    assert sorted(m.subject for m in SENT_BY_BACKEND) == sorted(e.subject for e in failed)
    assert [e.status for e in rows()] == ["sent", "sent"]


def test_operators_see_failed_emails_in_the_admin_and_send_them_again(live_db, outbox_only):
    operator = create_user("ops@platform.example", is_staff=True, is_superuser=True)
    with platform_access(reason="test: a failed e-mail"):
        failed = OutboxEmail.objects.create(
            template="invitation",
            recipient="nina@asha.example",
            subject="You are invited",
            body_text="secret link /invite/abc/",
            status=OutboxEmail.Status.FAILED,
            attempts=8,
            last_error="SMTPServerDisconnected: gone",
        )
    client = log_in(Client(), operator)
    page = client.get("/admin/tenants/outboxemail/?status=failed")
    assert page.status_code == 200
    assert b"nina@asha.example" in page.content and b"SMTPServerDisconnected" in page.content
    detail = client.get(f"/admin/tenants/outboxemail/{failed.pk}/change/")
    assert detail.status_code == 200 and b"/invite/abc/" not in detail.content
    response = client.post(
        "/admin/tenants/outboxemail/",
        {"action": "send_again", "_selected_action": [str(failed.pk)]},
    )
    assert response.status_code == 302
    [again] = rows()
    assert again.status == OutboxEmail.Status.PENDING and again.attempts == 0


def test_a_clinic_member_has_no_outbox_in_the_admin(live_db, outbox_only):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    from accounts.services import user_staff_set

    user_staff_set(user=clinic.owner, actor=None, is_staff=True)
    client = log_in(Client(), clinic.owner, clinic)
    assert client.get("/admin/tenants/outboxemail/").status_code in (403, 404)


# --- what the runtime role may do --------------------------------------------------------------


def _as_runtime(sql: str, params=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def test_the_runtime_role_appends_and_reads_progress_only(clinic_a, clinic_b):
    with tenant_context(clinic_a):
        send_templated_email("verify-email", to="a@example.com", context={"user": clinic_a.owner})
    # The backlog is readable (status and times), across clinics: it names nobody.
    assert (
        _as_runtime(
            "SELECT count(*), min(created_at) FROM tenants_outboxemail WHERE status = 'pending'"
        )[0][0]
        == 1
    )
    assert outbox_backlog().pending == 1
    for statement in (
        "SELECT recipient FROM tenants_outboxemail",
        "SELECT body_text FROM tenants_outboxemail",
        "SELECT tenant_id FROM tenants_outboxemail",
        "UPDATE tenants_outboxemail SET status = 'sent'",
        "DELETE FROM tenants_outboxemail",
        "TRUNCATE tenants_outboxemail",
    ):
        with pytest.raises(DatabaseError, match="permission denied"):
            _as_runtime(statement)
    # An e-mail can be queued for the clinic in context or for none, never for another one.
    insert = (
        "INSERT INTO tenants_outboxemail (id, tenant_id, template, recipient, subject, "
        "body_text, body_html, status, attempts, created_at, next_attempt_at, last_error) "
        "VALUES (gen_random_uuid(), %s, 't', 'x@example.com', 's', '', '', 'pending', 0, "
        "now(), now(), '')"
    )
    with tenant_context(clinic_a):
        _as_runtime(insert, [clinic_a.pk])
        _as_runtime(insert, [None])
        with pytest.raises(DatabaseError, match="row-level security"):
            _as_runtime(insert, [clinic_b.pk])


def test_check_rls_catches_a_widened_outbox_grant(live_db):
    assert inspect_database() == []
    runtime = connections["default"].settings_dict["USER"]
    owner = connections["owner"]
    try:
        with owner.cursor() as cursor:
            cursor.execute(f'GRANT SELECT, UPDATE ON tenants_outboxemail TO "{runtime}"')
        problems = inspect_database()
        assert any("tenants_outboxemail" in p and "UPDATE" in p for p in problems), problems
        assert any("tenants_outboxemail.recipient" in p for p in problems), problems
    finally:
        with owner.cursor() as cursor:
            for statement in dbroles.limited_grants_sql("tenants_outboxemail", runtime):
                cursor.execute(statement)
        owner.close()
    assert inspect_database() == []


# --- password reset: the same work for known and unknown addresses -----------------------------


# A person is read in their own context (people's row-level security): the id in the context
# differs from address to address (the nil id for an unknown one), the statements do not.
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _reset_work(api, email: str) -> tuple[int, list[str], int]:
    before = outbox_backlog().pending
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/auth/password-reset", {"email": email}, format="json")
    assert response.status_code == 202
    # The statements' shapes: savepoint names and literal values differ from call to call.
    shapes = [
        re.sub(r'"s\d+_x\d+"', "SP", re.sub(UUID, "ID", q["sql"]).split(" WHERE ")[0])[:60]
        for q in queries.captured_queries
    ]
    return len(queries.captured_queries), shapes, outbox_backlog().pending - before


def test_password_reset_does_the_same_work_for_known_and_unknown_addresses(
    api, clinic_a, alice, settings
):
    settings.OUTBOX_DELIVER_ON_COMMIT = False
    settings.EMAIL_BACKEND = "tenants.tests.test_outbox.RefusingBackend"
    _reset_work(api, "warm-up@example.com")  # first-request costs (caches) out of the way
    known = _reset_work(api, alice.email)
    unknown = _reset_work(api, "nobody-here@example.com")
    # The same number and kind of statements, and exactly one e-mail queued either way: the
    # reset link, or a notice that no account uses the address. Nothing is sent during the
    # request (the refusing mail server would have made it fail).
    assert known[0] == unknown[0]
    assert known[1] == unknown[1]
    assert known[2] == unknown[2] == 1


def test_the_unknown_address_gets_a_notice_without_a_link(live_db, outbox_only, api):
    api.post("/api/v1/auth/password-reset", {"email": "nobody@example.com"}, format="json")
    run("send_outbox", "--once")
    [notice] = mail.outbox
    assert notice.to == ["nobody@example.com"]
    assert "no account" in notice.body and "/reset/" not in notice.body


def test_an_idle_worker_writes_nothing_to_the_audit_log(live_db, outbox_only):
    before = _audit_count()
    for _ in range(3):
        run("send_outbox", "--once")
    assert _audit_count() == before


def _audit_count() -> int:
    with platform_access(reason="test: count audit events"):
        return AuditEvent.objects.exclude(reason="test: count audit events").count()


def test_send_outbox_loop_stops_cleanly_on_a_signal(live_db, outbox_only):
    """The worker `make run` starts beside the server sends while it runs and stops on
    SIGTERM (what make's trap sends) without a traceback."""
    import os
    import subprocess
    import sys
    import time

    from django.conf import settings as django_settings

    from clinic_saas.tests.test_deploy import _database_env

    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    with tenant_context(clinic):
        send_templated_email(
            "verify-email", to="alice@asha.example", context={"user": clinic.owner}
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "EMBEDDED_"))}
    env.update(_database_env(), DEBUG="1", EMAIL_URL="dummymail://")
    if django_settings.EMBEDDED_DATABASE and os.environ.get("EMBEDDED_PGDATA"):
        env["EMBEDDED_PGDATA"] = os.environ["EMBEDDED_PGDATA"]
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "send_outbox", "--interval", "0.2"],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and rows()[0].status != OutboxEmail.Status.SENT:
            time.sleep(0.2)
        assert rows()[0].status == OutboxEmail.Status.SENT
    finally:
        worker.terminate()
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_retry_delays_grow_and_stop_at_an_hour(settings):
    from tenants.outbox import retry_delay

    settings.OUTBOX_RETRY_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(20) == timedelta(hours=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
