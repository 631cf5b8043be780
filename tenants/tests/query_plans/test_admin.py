"""Query plans of the admin workspace (issue 15): every list a clinic's owner may open, its
searches and a record's page, through the admin itself, held to the API's rules
(tenants/tests/query_plans/plans.py)."""

from __future__ import annotations

import pytest

from tenants.context import tenant_context
from tenants.tests.query_plans.plans import Call, get, plan_problems

# Searches a member types in the admin's lists, by model label.
ADMIN_SEARCHES = {
    "clinical.patient": ["Kavya00011", "98000001"],
    "clinical.appointment": ["Kavya00011"],
    "clinical.prescription": ["RX-000001"],
    "clinical.medicine": ["para"],
}
# Lists that open on a default filter (the schedule opens on today): also read unfiltered.
ADMIN_EXTRA_QUERIES = {"clinical.appointment": ["day=any"]}


@pytest.fixture(scope="module")
def admin_calls(clinics, django_db_blocker) -> list[Call]:
    """Every admin list the first clinic's owner may open (with its searches and an object's
    page), through the admin itself, with the SQL it sent."""
    from django.contrib import admin
    from django.test import Client

    from accounts.testing import session_login

    clinic = clinics[0]
    made: list[Call] = []
    with django_db_blocker.unblock():
        client = Client()
        session_login(client, clinic.owner, clinic)
        for model in admin.site._registry:
            label = model._meta.label_lower
            base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            queries = ["", *ADMIN_EXTRA_QUERIES.get(label, [])]
            queries += [f"q={term}" for term in ADMIN_SEARCHES.get(label, [])]
            for url in [f"{base}?{q}" if q else base for q in queries]:
                made.append(get(client, url))
            if made[-1].status != 200:
                continue  # not the owner's to open (a 403, checked below)
            # A record's page: the first row the list shows.
            with tenant_context(clinic, user=clinic.owner):
                first = model._default_manager.values_list("pk", flat=True).first()
            if first is not None:
                made.append(get(client, f"{base}{first}/change/"))
    return made


def test_the_admin_lists_the_workspace_needs_are_checked(admin_calls):
    opened = {c.path.split("?")[0] for c in admin_calls if c.status == 200}
    for model in ("patient", "appointment", "prescription", "medicine", "doctor"):
        assert f"/admin/clinical/{model}/" in opened, model
    # What the owner may not open answers 403, never a server error.
    assert not [c.name for c in admin_calls if c.status >= 500]


def test_every_admin_read_uses_a_clinic_index(clinics, admin_calls, django_db_blocker):
    # Lists the owner may not open (a 403) read nothing worth checking.
    opened = [call for call in admin_calls if call.status == 200]
    with django_db_blocker.unblock():
        problems = plan_problems(clinics[0], opened)
    assert not problems, "\n\n".join(problems)
