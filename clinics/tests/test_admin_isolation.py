"""The generated two-clinic suite, extended to the admin, for every role.

For every clinic-scoped model registered in the admin (present and future, read from the
admin's registry) and every role of clinic A (owner, admin, doctor with a doctor profile,
nurse, receptionist), clinic A's admin pages never show clinic B's rows: the changelist
(with its filters and search), the change form (rendered as it is, and again with every
permission granted so that every field is an editable widget), every dropdown's choices, the
delete page, the history and the autocomplete endpoints; clinic B's objects by URL answer
404; and a model the role may not see answers 403, never data. The list pages run a
constant number of queries, one row or many. What each role sees is test_admin_roles.py.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.db import models

from accounts import models as accounts_models
from accounts.admin_mixins import ScopedAdminMixin
from accounts.models import Membership, User
from accounts.selectors import as_person
from accounts.testing import add_member
from clinical.tests.conftest import make_doctor
from clinics.tests.admin_helpers import AllQueries, log_in, staff
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import build

CLINIC_KINDS = ("tenant", "catalog", "membership", "invitation", "audit")
ADMIN_MODELS = sorted(
    (m for m in admin.site._registry if getattr(m, "rls_kind", None) in CLINIC_KINDS),
    key=lambda m: m._meta.label,
)
ROLES = ("owner", "admin", "doctor", "nurse", "receptionist")
# Lists that open on a default view (the appointments on today): the query that lists
# every row, so that the clinic's own row is on the page the test reads.
EVERY_ROW = {"clinical.Appointment": {"day": "any"}}


def test_the_suite_covers_the_registered_clinic_models():
    labels = {m._meta.label for m in ADMIN_MODELS}
    assert {
        "clinical.Patient",
        "clinical.Doctor",
        "clinical.Office",
        "accounts.Membership",
        "accounts.Invitation",
        "tenants.AuditEvent",
        "tenants.PlanChange",
        "clinical.DentalObservation",
        "clinical.DentalProcedure",
        "clinical.DentalTemplate",
        "clinical.DentalAttachment",
        "clinical.PrintTemplate",
    } <= labels


def test_every_registered_admin_is_clinic_aware():
    """Admins registered without the clinic mixins are wrapped as platform-only."""
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ScopedAdminMixin), model._meta.label


def make_row(model, clinic):
    with tenant_context(clinic):
        if model is AuditEvent:
            return audit_record(action="test.event", details={"n": uuid.uuid4().hex})
        return build(model)


def fingerprints(row, clinic) -> set[str]:
    """Text that must never appear on another clinic's pages: the row's id, its own text,
    the ids and text of everything it references, and the clinic's name and id."""
    marks = {str(row.pk), str(clinic.pk), clinic.name}
    with tenant_context(clinic):
        for field in row._meta.fields:
            if field.is_relation and field.name != "tenant":
                related = getattr(row, field.name)
                if related is not None:
                    marks |= {str(related.pk), str(related)}
    return marks


def url(model, suffix="", *args) -> str:
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    return base + "".join(f"{a}/" for a in args) + suffix


@pytest.fixture
def owner(client, clinic_a, alice):
    return log_in(client, staff(alice), clinic_a)


@pytest.fixture(params=ROLES)
def member(request, client, clinic_a, alice):
    """A browser logged in to clinic A's admin with each role in turn (the doctor with a
    doctor profile, so that the matrix's "as doctor" cells open for them)."""
    role = request.param
    user = alice if role == "owner" else add_member(clinic_a, role=role).user
    if role == "doctor":
        make_doctor(clinic_a, user)
    return log_in(client, user, clinic_a)


def sees(client, model) -> bool:
    """Whether the logged-in member's role may open the model's list at all."""
    response = client.get(url(model), EVERY_ROW.get(model._meta.label, {}))
    assert response.status_code in (200, 403), response.status_code
    if response.status_code == 403:
        assert "<table" not in response.content.decode()
    return response.status_code == 200


@pytest.fixture
def all_permissions(monkeypatch):
    """Every admin allows everything (still in clinic mode): the pages render every field as
    an editable widget and the delete page lists what would go, so a permission granted
    later cannot be the first thing that shows another clinic's rows."""
    monkeypatch.setattr(ScopedAdminMixin, "mode_allows", lambda self, request, permission: True)


def assert_no_marks(response, marks, where):
    page = response.content.decode()
    leaked = sorted(m for m in marks if m and m in page)
    assert not leaked, f"{where} shows clinic B's {leaked}"


def listed(response) -> set:
    """The ids of the rows a changelist shows (the search term itself is echoed in the page,
    so the page's text cannot tell)."""
    return {obj.pk for obj in response.context_data["cl"].result_list}


def _distinct(row_a, row_b) -> set[str]:
    # A text shared by both clinics' rows (a timestamp, a constant) proves nothing.
    return {str(row_b)} if str(row_b) != str(row_a) else set()


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_pages_of_clinic_a_never_show_clinic_b(model, member, clinic_a, clinic_b):
    row_a, row_b = make_row(model, clinic_a), make_row(model, clinic_b)
    marks = fingerprints(row_b, clinic_b) | _distinct(row_a, row_b)
    every_row = EVERY_ROW.get(model._meta.label, {})

    listing = member.get(url(model), every_row)
    assert_no_marks(listing, marks, "the changelist")
    if not sees(member, model):
        # A model this role may not see: refused, never data, and clinic B's row is
        # refused the same way (no hint whether it exists).
        for suffix in ("change/", "delete/", "history/"):
            response = member.get(url(model, suffix, row_b.pk))
            assert response.status_code in (403, 404), suffix
            # The error page may echo the address typed, whose id is no news to the member.
            assert_no_marks(response, marks - {str(row_b.pk)}, suffix)
        return
    assert str(row_a.pk) in listing.content.decode(), "clinic A's own row is listed"
    for term in (str(row_b), str(row_b.pk)):
        found = listed(member.get(url(model), {"q": term, **every_row}))
        assert row_b.pk not in found, f"searching {term!r} finds clinic B's row"

    change = member.get(url(model, "change/", row_a.pk))
    assert change.status_code == 200
    assert_no_marks(change, marks, "the change form")
    assert "field-tenant" not in change.content.decode(), "the clinic field is never shown"

    for suffix in ("change/", "history/"):
        assert member.get(url(model, suffix, row_b.pk)).status_code == 404
    # The delete page: a 404 for clinic B's row whether or not this role may delete.
    assert member.get(url(model, "delete/", row_b.pk)).status_code in (403, 404)


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_forms_of_clinic_a_never_offer_clinic_b_with_every_permission(
    model, member, clinic_a, clinic_b, all_permissions
):
    row_a, row_b = make_row(model, clinic_a), make_row(model, clinic_b)
    marks = fingerprints(row_b, clinic_b) | _distinct(row_a, row_b)

    for page, where in (
        (url(model), "the changelist"),
        (url(model, "add/"), "the add form"),
        (url(model, "change/", row_a.pk), "the change form"),
        (url(model, "delete/", row_a.pk), "the delete page"),
    ):
        response = member.get(page)
        # 403: this admin refuses the page whatever the mode allows (the audit log).
        assert response.status_code in (200, 403), (where, response.status_code)
        assert_no_marks(response, marks, where)
    for suffix in ("change/", "delete/", "history/"):
        assert member.get(url(model, suffix, row_b.pk)).status_code in (403, 404), suffix


def _relation_fields(model_admin):
    """Every foreign key and many-to-many of the admin's model and of its inlines' models."""
    models_ = [model_admin.model] + [inline.model for inline in model_admin.inlines]
    for model in models_:
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.ManyToManyField)
                and field.name != "tenant"
                and not field.auto_created
            ):
                yield model, field


def _visible_ids(related, clinic) -> set:
    with tenant_context(clinic):
        if related is User:
            return set(Membership.objects.values_list("user_id", flat=True))
        if related is Tenant:
            return {clinic.pk}
        return set(related._default_manager.values_list("pk", flat=True))


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_dropdown_choices_are_the_clinics_own(model, member, clinic_a, clinic_b):
    make_row(model, clinic_a), make_row(model, clinic_b)
    request = member.get(url(model)).wsgi_request  # a real admin request of clinic A
    model_admin = admin.site.get_model_admin(model)
    for source, field in _relation_fields(model_admin):
        owner_admin = model_admin
        for inline in model_admin.get_inline_instances(request):
            if inline.model is source:
                owner_admin = inline
        with tenant_context(clinic_a, user=request.user):
            form_field = owner_admin.formfield_for_dbfield(field, request)
            if form_field is None or not hasattr(form_field, "queryset"):
                continue
            offered = set(form_field.queryset.values_list("pk", flat=True))
        only_b = _visible_ids(field.related_model, clinic_b) - _visible_ids(
            field.related_model, clinic_a
        )
        assert not offered & only_b, (
            f"{source._meta.label}.{field.name} offers clinic B's {field.related_model.__name__}"
        )
        assert offered <= _visible_ids(field.related_model, clinic_a), (
            f"{source._meta.label}.{field.name} offers rows that are not clinic A's"
        )


AUTOCOMPLETE_SOURCES = [
    (model, field)
    for model in admin.site._registry
    for field in model._meta.fields
    if field.is_relation and field.related_model in admin.site._registry
]


@pytest.mark.parametrize(
    ("model", "field"),
    AUTOCOMPLETE_SOURCES,
    ids=[f"{m._meta.label}.{f.name}" for m, f in AUTOCOMPLETE_SOURCES],
)
def test_autocomplete_offers_only_the_clinics_rows(model, field, member, clinic_a, clinic_b):
    target = field.related_model
    if getattr(target, "rls_kind", None) in CLINIC_KINDS:
        make_row(target, clinic_a), make_row(target, clinic_b)
    only_b = _visible_ids(target, clinic_b) - _visible_ids(target, clinic_a)
    response = member.get(
        "/admin/autocomplete/",
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field.name,
            "term": "",
        },
    )
    if response.status_code in (403, 404):
        return  # no access to that model, or nothing to search it by
    assert response.status_code == 200
    offered = {item["id"] for item in response.json()["results"]}
    assert not offered & {str(pk) for pk in only_b}


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_list_runs_a_constant_number_of_queries(model, member, clinic_a):
    make_row(model, clinic_a)
    if not sees(member, model):  # also warms the caches (content types, templates)
        return
    every_row = EVERY_ROW.get(model._meta.label, {})
    with AllQueries() as one:
        assert member.get(url(model), every_row).status_code == 200
    for _ in range(4):
        make_row(model, clinic_a)
    with AllQueries() as many:
        assert member.get(url(model), every_row).status_code == 200
    assert many.count == one.count, "\n".join(many.statements)


# --- people and invitations ---------------------------------------------------------------------


def test_admin_of_clinic_a_shows_nothing_of_a_person_it_only_invited(
    owner, clinic_a, alice, clinic_b
):
    """A member of clinic B invited by clinic A: A's admin lists the invitation with what A
    typed, and nothing of the person (not among A's people, not their name or activity)."""
    from accounts.services import invitation_create
    from accounts.testing import add_member

    person = add_member(clinic_b, email="staff.of.b@example.com", role="nurse").user
    with as_person(person):
        User.objects.filter(pk=person.pk).update(first_name="Globalname", last_name="Ofb")
    invitation_create(
        tenant=clinic_a, actor=alice, email=person.email, role="nurse", first_name="Typed"
    )
    invitations = owner.get(url(accounts_models.Invitation)).content.decode()
    assert person.email in invitations and "Typed" in invitations
    assert "Globalname" not in invitations
    people = listed(owner.get(url(User)))
    assert person.pk not in people
    assert owner.get(url(User, "change/", person.pk)).status_code == 404
    for model in (Membership, accounts_models.Invitation):
        assert "Globalname" not in owner.get(url(model)).content.decode()


def test_admin_of_clinic_a_never_shows_clinic_b_invitation_to_its_own_owner(
    owner, clinic_a, alice, clinic_b, charlie
):
    """Row-level security lets alice read invitations addressed to her in any clinic; in
    clinic A's admin, clinic B's invitation to her is still clinic B's row."""
    from accounts.services import invitation_create

    theirs = invitation_create(tenant=clinic_b, actor=charlie, email=alice.email, role="nurse")
    listing = owner.get(url(accounts_models.Invitation))
    assert theirs.pk not in listed(listing)
    assert_no_marks(listing, {str(theirs.pk), clinic_b.name}, "the invitation changelist")
    assert owner.get(url(accounts_models.Invitation, "change/", theirs.pk)).status_code == 404
