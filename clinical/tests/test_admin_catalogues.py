"""The catalogues in the clinic's admin: the clinic's own medicines and the short keys, written
through their services by the roles the matrix allows; the shared catalogue stays read-only;
the medicine search for prescription lines offers the shared and the clinic's own medicines."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from accounts.testing import add_member, create_clinic, session_login
from clinical.models import Medicine, SharedMedicine, ShortKey, ShortKeyItem
from clinical.services import short_key_create
from clinical.tests.admin_prescriptions.helpers import line, lines
from clinical.tests.conftest import colleagues_personal_short_key, count_queries, item, make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.platform import platform_access
from tenants.testing import build

MEDICINES = "/admin/clinical/medicine/"
KEYS = "/admin/clinical/shortkey/"


def medicine_form(**overrides) -> dict:
    data = {
        "name": "House cough syrup",
        "generic_name": "",
        "composition": "",
        "manufacturer": "",
        "dosage_form": "syrup",
        "strength": "100 ml",
        "category": "",
        "price": "",
        "prescription_only": "on",
        "atc_code": "",
        "notes": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def key_form(**overrides) -> dict:
    data = {"code": "fever", "name": "Fever", "description": ""}
    data.update(overrides)
    return data


def events(clinic, action):
    with tenant_context(clinic):
        return list(AuditEvent.objects.filter(action=action))


@pytest.fixture
def as_doctor(client, clinic_a, bob, doctor):
    session_login(client, bob, clinic_a)
    return client


# --- medicines --------------------------------------------------------------------------------


def test_doctor_adds_a_clinic_medicine_through_the_service(as_doctor, clinic_a, bob):
    response = as_doctor.post(f"{MEDICINES}add/", medicine_form())
    assert response.status_code == 302
    with tenant_context(clinic_a):
        added = Medicine.objects.get(name="House cough syrup")
    assert added.tenant_id == clinic_a.pk
    [created] = events(clinic_a, "medicine.created")
    assert created.actor_id == bob.pk


def test_a_duplicate_medicine_is_an_error_on_its_name(as_doctor, clinic_a):
    with tenant_context(clinic_a):
        build(Medicine, name="House cough syrup", dosage_form="syrup", strength="100 ml")
    response = as_doctor.post(f"{MEDICINES}add/", medicine_form(notes="typed by the doctor"))
    assert response.status_code == 200
    form = response.context_data["adminform"].form
    assert form.errors["name"] == ["Already in this clinic's catalogue."]
    assert form["notes"].value() == "typed by the doctor"
    with tenant_context(clinic_a):
        assert Medicine.objects.filter(name="House cough syrup").count() == 1


@pytest.mark.parametrize("role", ["nurse", "receptionist"])
def test_nurses_and_receptionists_read_medicines_but_do_not_add_them(
    client, clinic_a, staff, medicine, role
):
    session_login(client, staff[role], clinic_a)
    listing = client.get(MEDICINES)
    assert listing.status_code == 200 and "Paracetamol" in listing.content.decode()
    assert client.get(f"{MEDICINES}add/").status_code == 403
    assert client.post(f"{MEDICINES}add/", medicine_form()).status_code == 403
    page = client.get(f"{MEDICINES}{medicine.pk}/change/").content.decode()
    assert 'name="name"' not in page


def test_the_medicine_search_offers_shared_and_own_medicines_in_use(live_db):
    clinic = create_clinic("Asha Dental Care")
    bob = add_member(clinic, role="doctor").user
    make_doctor(clinic, bob)
    elsewhere = create_clinic("Bharat Family Clinic")
    with platform_access(reason="test: a shared catalogue entry"):
        shared = SharedMedicine.objects.create(
            name="Azithral", dosage_form="tablet", strength="500"
        )
    with tenant_context(clinic):
        own = build(Medicine, name="Azee house", dosage_form="syrup")
        retired = build(Medicine, name="Azo old", is_active=False)
    with tenant_context(elsewhere):
        foreign = build(Medicine, name="Azura theirs")
    client = Client()
    session_login(client, bob, clinic)
    found = client.get(
        "/admin/autocomplete/",
        {
            "app_label": "clinical",
            "model_name": "prescriptionitem",
            "field_name": "medicine",
            "term": "Az",
        },
    ).json()
    ids = {row["id"] for row in found["results"]}
    assert ids == {str(shared.pk), str(own.pk)}
    assert str(retired.pk) not in ids and str(foreign.pk) not in ids
    # The shared catalogue stays read-only for the clinic's doctors too.
    page = client.get(f"{MEDICINES}{shared.pk}/change/").content.decode()
    assert 'name="name"' not in page


# --- short keys -------------------------------------------------------------------------------


def test_doctor_creates_a_personal_short_key_with_its_lines(as_doctor, clinic_a, doctor, medicine):
    data = {**key_form(personal="on"), **lines(line(medicine, dosage="2 tablets"))}
    response = as_doctor.post(f"{KEYS}add/", data)
    assert response.status_code == 302, response.context_data["adminform"].form.errors
    with tenant_context(clinic_a):
        key = ShortKey.objects.get()
        rows = list(ShortKeyItem.objects.filter(short_key=key).values_list("medicine", "dosage"))
    assert (key.code, key.doctor_id) == ("FEVER", doctor.pk)
    assert rows == [(medicine.pk, "2 tablets")]
    assert events(clinic_a, "short_key.created")


def test_an_owner_creates_a_shared_short_key(client, clinic_a, alice, medicine):
    session_login(client, alice, clinic_a)
    page = client.get(f"{KEYS}add/").content.decode()
    assert 'name="personal"' not in page, "a personal key needs a doctor profile"
    assert client.post(f"{KEYS}add/", {**key_form(), **lines(line(medicine))}).status_code == 302
    with tenant_context(clinic_a):
        assert ShortKey.objects.get().doctor_id is None


def test_a_duplicate_code_is_an_error_on_the_code(as_doctor, clinic_a, bob, medicine):
    short_key_create(tenant=clinic_a, actor=bob, code="FEVER", name="Old", items=[item(medicine)])
    response = as_doctor.post(f"{KEYS}add/", {**key_form(), **lines(line(medicine))})
    assert response.status_code == 200
    assert response.context_data["adminform"].form.errors["code"] == [
        "Already used in this clinic."
    ]


def test_a_short_key_needs_its_lines(as_doctor, clinic_a):
    response = as_doctor.post(f"{KEYS}add/", {**key_form(), **lines()})
    assert response.status_code == 200
    assert "Medicines: Give 1 to 20 medicines (got 0)." in response.content.decode()
    with tenant_context(clinic_a):
        assert not ShortKey.objects.exists()


def test_changing_a_short_keys_lines_goes_through_the_service(as_doctor, clinic_a, bob, medicine):
    key = short_key_create(
        tenant=clinic_a, actor=bob, code="FEVER", name="Fever", items=[item(medicine)]
    )
    with tenant_context(clinic_a):
        other = build(Medicine, name="Cetirizine")
        [row] = ShortKeyItem.objects.filter(short_key=key)
    data = {
        **key_form(name="Fever, adult", is_active="on"),
        **lines(
            {**line(medicine, dosage="2 tablets"), "id": str(row.pk), "short_key": str(key.pk)},
            line(other),
            initial=1,
        ),
    }
    response = as_doctor.post(f"{KEYS}{key.pk}/change/", data)
    assert response.status_code == 302, response.context_data["adminform"].form.errors
    with tenant_context(clinic_a):
        key.refresh_from_db()
        rows = list(ShortKeyItem.objects.filter(short_key=key).order_by("order"))
    assert key.name == "Fever, adult"
    assert [(r.medicine_id, r.dosage) for r in rows] == [
        (medicine.pk, "2 tablets"),
        (other.pk, "1 tablet"),
    ]
    assert events(clinic_a, "short_key.updated")


def test_deleting_a_short_key_goes_through_the_service(as_doctor, clinic_a, bob, medicine):
    key = short_key_create(
        tenant=clinic_a, actor=bob, code="FEVER", name="Fever", items=[item(medicine)]
    )
    response = as_doctor.post(f"{KEYS}{key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with tenant_context(clinic_a):
        assert not ShortKey.objects.exists()
    [deleted] = events(clinic_a, "short_key.deleted")
    assert deleted.actor_id == bob.pk


def test_another_doctors_personal_short_key_is_a_404(as_doctor, clinic_a, medicine):
    theirs = colleagues_personal_short_key(clinic_a, medicine)
    assert as_doctor.get(f"{KEYS}{theirs.pk}/change/").status_code == 404
    assert as_doctor.post(f"{KEYS}{theirs.pk}/delete/", {"post": "yes"}).status_code == 404
    with tenant_context(clinic_a):
        assert ShortKey.objects.filter(pk=theirs.pk).exists()


def test_nurse_reads_short_keys_but_cannot_change_them(client, clinic_a, bob, staff, medicine):
    make_doctor(clinic_a, bob)
    key = short_key_create(
        tenant=clinic_a, actor=bob, code="FEVER", name="Fever", items=[item(medicine)]
    )
    session_login(client, staff["nurse"], clinic_a)
    assert "FEVER" in client.get(KEYS).content.decode()
    page = client.get(f"{KEYS}{key.pk}/change/").content.decode()
    assert 'name="name"' not in page and "Paracetamol" in page
    assert client.get(f"{KEYS}add/").status_code == 403
    assert client.post(f"{KEYS}{key.pk}/delete/", {"post": "yes"}).status_code == 403


def test_receptionist_never_sees_short_keys(client, clinic_a, staff):
    session_login(client, staff["receptionist"], clinic_a)
    assert client.get(KEYS).status_code == 403


def test_another_clinics_short_key_is_a_404(client, clinic_a, clinic_b, charlie):
    with tenant_context(clinic_a):
        key = build(ShortKey, code="FEVER")
    session_login(client, charlie, clinic_b)
    assert client.get(f"{KEYS}{key.pk}/change/").status_code == 404
    assert client.get(f"{KEYS}{uuid.uuid4()}/change/").status_code == 404


def test_the_short_key_list_reads_a_constant_number_of_queries(as_doctor, clinic_a, medicine):
    def add_keys(count):
        with tenant_context(clinic_a):
            for _ in range(count):
                key = build(ShortKey, code=f"K{uuid.uuid4().hex[:6].upper()}")
                build(ShortKeyItem, short_key=key, medicine=medicine)

    add_keys(1)
    as_doctor.get(KEYS)
    one, _ = count_queries(lambda: as_doctor.get(KEYS))
    add_keys(5)
    many, page = count_queries(lambda: as_doctor.get(KEYS))
    assert len(page.context_data["cl"].result_list) == 6
    assert one == many
