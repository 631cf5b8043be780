from __future__ import annotations

from django.core.management import call_command

from accounts.models import User
from clinics.demo import DEMO_CLINICS, DEMO_PASSWORD


def test_seed_demo_is_idempotent_and_logins_work(live_db, api, mailoutbox, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "Asha Dental Care: created" in first and DEMO_PASSWORD in first
    call_command("seed_demo")
    assert "Asha Dental Care: already there" in capsys.readouterr().out
    people = [p for spec in DEMO_CLINICS for p in (spec.owner, *spec.staff)]
    assert User.objects.filter(email__in=[p.email for p in people]).count() == len(people)
    for person in people:
        response = api.post(
            "/api/v1/auth/token", {"email": person.email, "password": DEMO_PASSWORD}, format="json"
        )
        assert response.status_code == 200, (person.email, response.json())
    assert mailoutbox == []
