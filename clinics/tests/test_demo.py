from __future__ import annotations

from django.core.management import call_command

from accounts.models import Membership
from accounts.selectors import memberships_of, person_by_email
from clinics.demo import DEMO_CLINICS, DEMO_PASSWORD
from tenants.context import tenant_context


def test_seed_demo_is_idempotent_and_logins_work(live_db, api, mailoutbox, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "Asha Dental Care: created" in first and DEMO_PASSWORD in first
    call_command("seed_demo")
    assert "Asha Dental Care: already there" in capsys.readouterr().out
    people = [p for spec in DEMO_CLINICS for p in (spec.owner, *spec.staff)]
    assert all(person_by_email(p.email) is not None for p in people)
    for person in people:
        response = api.post(
            "/api/v1/auth/token", {"email": person.email, "password": DEMO_PASSWORD}, format="json"
        )
        assert response.status_code == 200, (person.email, response.json())
    assert mailoutbox == []


def test_the_first_demo_clinic_has_a_login_for_every_role_and_all_open_the_workspace(
    live_db, client, capsys
):
    call_command("seed_demo")
    out = capsys.readouterr().out
    first = DEMO_CLINICS[0]
    roles = {p.role for p in first.staff}
    assert {"receptionist", "doctor", "nurse"} <= roles
    for person in first.staff:
        assert person.email in out, f"seed_demo prints {person.email}"
    assert "Workspace: every login above opens" in out
    tenant = memberships_of(person_by_email(first.owner.email))[0].tenant
    with tenant_context(tenant):
        seeded = dict(Membership.objects.values_list("user__email", "role"))
    for person in first.staff:
        assert seeded[person.email] == person.role
        client.post("/login/", {"email": person.email, "password": DEMO_PASSWORD})
        response = client.get("/admin/")
        assert response.status_code == 200, person.email
        assert f"Clinic: <strong>{first.name}</strong>" in response.content.decode()
        client.post("/logout/")


def test_a_demo_clinic_seeded_before_gets_the_people_it_lacks(live_db, capsys, monkeypatch):
    import dataclasses

    from clinics import demo

    first = DEMO_CLINICS[0]
    nurse = next(p for p in first.staff if p.role == "nurse")
    earlier = dataclasses.replace(first, staff=tuple(p for p in first.staff if p is not nurse))
    monkeypatch.setattr(demo, "DEMO_CLINICS", (earlier, *DEMO_CLINICS[1:]))
    call_command("seed_demo")  # the demo as it was before the nurse joined it
    assert person_by_email(nurse.email) is None
    monkeypatch.setattr(demo, "DEMO_CLINICS", DEMO_CLINICS)
    capsys.readouterr()
    call_command("seed_demo")
    assert f"{first.name}: added {nurse.email}" in capsys.readouterr().out
    assert person_by_email(nurse.email) is not None
    call_command("seed_demo")
    assert "added" not in capsys.readouterr().out
