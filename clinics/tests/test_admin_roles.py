"""What each role finds in the admin: which models its index lists, and whether each one can
be added, changed or deleted there. Derived from the role matrix (clinical.permissions
.MATRIX, the table of docs/permissions.md) for clinical records and from each admin's
`clinic_roles` for the practice's own pages (the team, plan changes, the audit log), so the
test follows the matrix rather than restating it."""

from __future__ import annotations

import pytest
from django.contrib import admin

from accounts.admin_mixins import PlatformOnlyMixin
from accounts.models import ADMIN_ROLES
from accounts.testing import add_member
from clinical.admin.common import ADMIN_ACTIONS, ClinicalAdmin
from clinical.permissions import MATRIX, Rule
from clinical.tests.conftest import make_doctor
from clinics.tests.admin_helpers import log_in

# (role, has a doctor profile): the matrix's "as doctor" cells open only with one.
MEMBERS = [
    ("owner", False),
    ("owner", True),
    ("admin", False),
    ("doctor", True),
    ("nurse", False),
    ("receptionist", False),
]
PERMISSIONS = ("view", "add", "change", "delete")


def expected(model_admin, role: str, is_doctor: bool) -> dict[str, bool]:
    """What the matrix (or the admin's `clinic_roles`) says the role may do with a model,
    bounded by what the admin implements (`clinic_permissions`)."""

    def allowed(permission: str) -> bool:
        if isinstance(model_admin, PlatformOnlyMixin):
            return False  # admins that know nothing of clinics: platform operators only
        if permission not in model_admin.clinic_permissions:
            return False
        if isinstance(model_admin, ClinicalAdmin):
            action = model_admin.admin_actions.get(permission)
            rule = MATRIX[model_admin.resource].get(action, {}).get(role, Rule.DENY)
            return rule == Rule.ALLOW or (rule == Rule.DOCTOR_SELF and is_doctor)
        return role in (model_admin.clinic_roles or ADMIN_ROLES)

    perms = {p: allowed(p) for p in PERMISSIONS}
    # Changing includes seeing (Django's rule); a read-only log refuses every write.
    perms["view"] = perms["view"] or perms["change"]
    return perms


@pytest.fixture(params=MEMBERS, ids=[f"{r}{'+doctor' if d else ''}" for r, d in MEMBERS])
def member(request, client, clinic_a, alice):
    role, is_doctor = request.param
    user = alice if role == "owner" else add_member(clinic_a, role=role).user
    if is_doctor:
        make_doctor(clinic_a, user)
    log_in(client, user, clinic_a)
    return client, role, is_doctor


def index_perms(client) -> dict[str, dict[str, bool]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        model["model"]._meta.label: {p: bool(model["perms"].get(p)) for p in PERMISSIONS}
        for app in response.context_data["app_list"]
        for model in app["models"]
    }


def test_the_index_and_each_models_permissions_follow_the_matrix(member):
    client, role, is_doctor = member
    shown = index_perms(client)
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        want = expected(model_admin, role, is_doctor)
        if label == "tenants.AuditEvent":
            want.update(add=False, change=False, delete=False)  # append-only for everybody
        if not want["view"]:
            assert label not in shown, f"{role} is shown {label}"
            continue
        assert label in shown, f"{role} is not shown {label}"
        assert shown[label] == want, (label, role, shown[label], want)


def test_receptionist_never_sees_prescriptions_or_dental_records(client, clinic_a):
    desk = add_member(clinic_a, role="receptionist").user
    log_in(client, desk, clinic_a)
    page = client.get("/admin/").content.decode()
    for model in (
        "prescription",
        "dentalobservation",
        "dentalprocedure",
        "dentalattachment",
        "dentaltemplate",
    ):
        assert f"/admin/clinical/{model}/" not in page
        assert client.get(f"/admin/clinical/{model}/").status_code == 403
        assert client.get(f"/admin/clinical/{model}/add/").status_code == 403
    # What the front desk does see: patients, appointments, doctors and their hours.
    for model in ("patient", "appointment", "doctor"):
        assert f"/admin/clinical/{model}/" in page


@pytest.mark.parametrize("role", ["doctor", "nurse", "receptionist"])
def test_only_owners_and_admins_see_the_team(client, clinic_a, role):
    log_in(client, add_member(clinic_a, role=role).user, clinic_a)
    page = client.get("/admin/").content.decode()
    for path in (
        "/admin/accounts/membership/",
        "/admin/accounts/invitation/",
        "/admin/accounts/user/",
        "/admin/clinical/office/",
        "/admin/tenants/planchange/",
        "/admin/tenants/auditevent/",
    ):
        assert path not in page
        assert client.get(path).status_code == 403


def test_owners_and_admins_read_the_audit_log(client, clinic_a, alice):
    log_in(client, add_member(clinic_a, role="doctor").user, clinic_a)
    assert client.get("/admin/tenants/auditevent/").status_code == 403
    log_in(client, add_member(clinic_a, role="admin").user, clinic_a)
    assert client.get("/admin/tenants/auditevent/").status_code == 200
    log_in(client, alice, clinic_a)
    assert client.get("/admin/tenants/auditevent/").status_code == 200


def test_the_admin_action_names_are_the_matrix_actions():
    """Every clinical admin's permissions name actions its matrix row has (a typo would
    quietly refuse everybody)."""
    for model_admin in admin.site._registry.values():
        if not isinstance(model_admin, ClinicalAdmin):
            continue
        row = MATRIX[model_admin.resource]
        for permission in model_admin.clinic_permissions:
            action = model_admin.admin_actions.get(permission, ADMIN_ACTIONS.get(permission))
            assert action in row, (model_admin, permission, action)
