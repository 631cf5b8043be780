"""Short keys: codes per clinic, personal or shared, ordered items, usage counting."""

from __future__ import annotations

import pytest

from accounts.testing import add_member
from clinical.models import Medicine, ShortKey
from clinical.tests.conftest import h, item, make_doctor
from tenants.context import tenant_context
from tenants.testing import build

URL = "/api/v1/short-keys"


def create(api, user, clinic, medicines, **overrides):
    body = {
        "code": "fever",
        "name": "Viral fever",
        "items": [item(m, dosage=f"{n + 1} tablet") for n, m in enumerate(medicines)],
    }
    body.update(overrides)
    return api.post(URL, body, format="json", **h(user, clinic))


def test_doctor_creates_a_key_with_an_upper_case_code(api, clinic_a, bob, doctor, medicines):
    response = create(api, bob, clinic_a, medicines[:3])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["code"] == "FEVER" and body["personal"] is False
    assert [i["order"] for i in body["items"]] == [1, 2, 3]
    assert [i["medicine_id"] for i in body["items"]] == [str(m.pk) for m in medicines[:3]]
    assert api.get(f"{URL}/fever/", **h(bob, clinic_a)).json()["id"] == body["id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "F"}, "code"),
        ({"code": "X" * 21}, "code"),
        ({"code": "no spaces"}, "code"),
        ({"items": []}, "items"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_short_keys_are_field_errors(api, clinic_a, bob, doctor, medicines, overrides, field):
    response = create(api, bob, clinic_a, medicines[:1], **overrides)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_items_are_bounded_unique_and_of_this_clinic(
    api, clinic_a, bob, doctor, medicines, clinic_b
):
    too_many = create(api, bob, clinic_a, medicines[:21])
    assert too_many.status_code == 400 and "items" in too_many.json()["errors"]
    twice = create(api, bob, clinic_a, [medicines[0], medicines[0]])
    assert twice.status_code == 400 and twice.json()["code"] == "duplicate_medicine"
    assert "items[1].medicine_id" in twice.json()["errors"]
    with tenant_context(clinic_b):
        foreign = build(Medicine)
    other = create(api, bob, clinic_a, [medicines[0], foreign])
    assert other.status_code == 400 and "items[1].medicine_id" in other.json()["errors"]
    missing_dosage = create(api, bob, clinic_a, [], items=[{**item(medicines[0]), "dosage": ""}])
    assert "items[0].dosage" in missing_dosage.json()["errors"]
    with tenant_context(clinic_a):
        assert not ShortKey.objects.exists()


def test_codes_are_unique_per_clinic_only(api, clinic_a, bob, doctor, medicines, clinic_b):
    assert create(api, bob, clinic_a, medicines[:1]).status_code == 201
    duplicate = create(api, bob, clinic_a, medicines[1:2], code="FEVER")
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "duplicate_code"
    charlie = clinic_b.owner
    with tenant_context(clinic_b):
        theirs = build(Medicine)
    assert create(api, charlie, clinic_b, [theirs]).status_code == 201


def test_personal_keys_are_visible_to_their_doctor_only(api, clinic_a, bob, doctor, medicines):
    other_user = add_member(clinic_a, role="doctor").user
    make_doctor(clinic_a, other_user)
    personal = create(api, bob, clinic_a, medicines[:1], code="MINE", personal=True)
    assert personal.status_code == 201 and personal.json()["personal"] is True
    create(api, bob, clinic_a, medicines[:1], code="SHARED")
    codes = [k["code"] for k in api.get(URL, **h(other_user, clinic_a)).json()["results"]]
    assert codes == ["SHARED"]
    assert api.get(f"{URL}/MINE", **h(other_user, clinic_a)).status_code == 404
    assert api.delete(f"{URL}/MINE", **h(other_user, clinic_a)).status_code == 404
    assert {k["code"] for k in api.get(URL, **h(bob, clinic_a)).json()["results"]} == {
        "MINE",
        "SHARED",
    }


def test_only_doctors_have_personal_keys(api, clinic_a, alice, medicines):
    response = create(api, alice, clinic_a, medicines[:1], personal=True)
    assert response.status_code == 403 and response.json()["code"] == "not_a_doctor"


def test_use_returns_the_items_in_order_and_counts(api, clinic_a, bob, doctor, medicines):
    create(api, bob, clinic_a, medicines[:3])
    first = api.post(f"{URL}/FEVER/use", **h(bob, clinic_a))
    assert first.status_code == 200, first.json()
    assert first.json()["usage_count"] == 1
    assert [i["dosage"] for i in first.json()["items"]] == ["1 tablet", "2 tablet", "3 tablet"]
    second = api.post(f"{URL}/fever/use/", **h(bob, clinic_a))
    assert second.json()["usage_count"] == 2 and second.json()["last_used_at"]


def test_edit_replaces_items_and_delete_removes(api, clinic_a, bob, doctor, medicines):
    create(api, bob, clinic_a, medicines[:3])
    response = api.patch(
        f"{URL}/FEVER",
        {"items": [item(medicines[5])], "name": "Fever (adult)"},
        format="json",
        **h(bob, clinic_a),
    )
    assert response.status_code == 200, response.json()
    assert [i["medicine_id"] for i in response.json()["items"]] == [str(medicines[5].pk)]
    assert api.delete(f"{URL}/FEVER", **h(bob, clinic_a)).status_code == 204
    assert api.get(f"{URL}/FEVER", **h(bob, clinic_a)).status_code == 404


@pytest.mark.parametrize("count", [1, 10])
def test_short_key_list_uses_constant_queries(
    api, clinic_a, bob, doctor, medicines, count, django_assert_max_num_queries
):
    for n in range(count):
        create(api, bob, clinic_a, medicines[:3], code=f"K{n:02d}")
    headers = h(bob, clinic_a)
    with django_assert_max_num_queries(7):
        response = api.get(URL, {"page_size": 100}, **headers)
    assert response.json()["count"] == count
