"""Password storage (catalogue item 14)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password

from accounts.models import User
from accounts.selectors import person_by_id
from accounts.testing import TEST_PASSWORD


def test_new_passwords_are_hashed_with_argon2id(db):
    user = User.objects.create_user("new@example.com", "Saffron-Fields-91")
    assert user.password.startswith("argon2$argon2id$")


def test_a_legacy_hash_is_upgraded_at_login(api, clinic_a, alice):
    # The hash lives in accounts_password (issue 12, item 5): save() stores it there.
    alice.password = make_password(TEST_PASSWORD, hasher="pbkdf2_sha256")
    alice.save(update_fields=["password"])
    response = api.post(
        "/api/v1/auth/token", {"email": alice.email, "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert person_by_id(alice.pk).password.startswith("argon2$argon2id$")


@pytest.mark.parametrize("password", ["short1", "password123", "1234567890123", "qwertyuiop"])
def test_weak_and_common_passwords_are_refused(api, clinic_a, alice, password):
    from accounts.testing import bearer

    response = api.post(
        "/api/v1/auth/change-password",
        {"old_password": TEST_PASSWORD, "new_password": password},
        format="json",
        **bearer(alice, clinic_a),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
