"""The earlier system's mobile clients keep working (issue 20, part 2): a small client written
the way the earlier app used the API signs in, reads the limits, adds a doctor, refreshes and
signs out; the compatibility fields sit beside the project's own, never instead of them."""

from __future__ import annotations

import bcrypt
import jwt
import pytest
from django.conf import settings

from accounts.models import User
from accounts.selectors import as_person, person_by_id
from accounts.testing import TEST_PASSWORD, add_member, create_clinic
from clinical.models import Doctor, DoctorOffice, Office
from clinics.compat import role_permissions
from tenants.context import tenant_context

INCORRECT = {"code": "invalid_credentials", "detail": "Incorrect email or password"}


class EarlierApp:
    """The earlier mobile app's use of the API: `POST /auth/login` with e-mail and password,
    the `tokens` object kept, bearer access tokens, `POST /auth/refresh` with the refresh
    token, `POST /auth/logout` with it on the way out."""

    def __init__(self, http):
        self.http = http
        self.tokens: dict | None = None
        self.user: dict | None = None

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.tokens['access_token']}"}

    def login(self, email: str, password: str):
        answer = self.http.post(
            "/api/v1/auth/login", {"email": email, "password": password}, format="json"
        )
        if answer.status_code == 200:
            self.tokens, self.user = answer.json()["tokens"], answer.json()["user"]
        return answer

    def get(self, path: str):
        return self.http.get(f"/api/v1{path}", **self._headers())

    def post(self, path: str, body: dict):
        return self.http.post(f"/api/v1{path}", body, format="json", **self._headers())

    def refresh(self):
        answer = self.http.post(
            "/api/v1/auth/refresh", {"refresh_token": self.tokens["refresh_token"]}, format="json"
        )
        if answer.status_code == 200:
            self.tokens = answer.json()
        return answer

    def logout(self):
        return self.post("/auth/logout", {"refresh_token": self.tokens["refresh_token"]})


def test_the_earlier_app_signs_in_reads_limits_adds_a_doctor_refreshes_and_signs_out(
    api, clinic_a, alice
):
    app = EarlierApp(api)
    answer = app.login("alice@asha.example", TEST_PASSWORD)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert set(body) == {"user", "tokens", "permissions"}
    assert set(body["user"]) == {
        "id", "email", "first_name", "last_name", "role", "tenant_id", "doctor_id",
        "specialization", "is_active", "full_name", "permissions", "last_login", "created_at",
        "updated_at", "keycloak_id", "temporary_password",
    }  # fmt: skip
    assert body["user"]["role"] == "admin"  # the earlier system's word for the owner
    assert body["user"]["tenant_id"] == str(clinic_a.pk)
    assert body["user"]["temporary_password"] is None and body["user"]["keycloak_id"] is None
    assert body["permissions"] == body["user"]["permissions"] == role_permissions("owner")
    tokens = body["tokens"]
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer"
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    assert tokens["expires_in"] == lifetime

    limits = app.get("/tenants/limits")
    assert limits.status_code == 200
    data = limits.json()
    assert data["tenant_id"] == str(clinic_a.pk) and data["tenant_name"] == clinic_a.name
    assert data["subscription_plan"] == clinic_a.plan
    assert set(data["trial_status"]) == {"is_trial", "trial_ends_at", "is_expired"}
    assert isinstance(data["trial_status"]["trial_ends_at"], str)  # an ISO string
    assert data["doctors"]["can_add"] is True
    # The project's own fields are all still there.
    assert {"plan", "plan_name", "status", "is_writable", "is_trial", "days_left"} <= set(data)

    added = app.post(
        "/tenants/doctors",
        {
            "first_name": "Ravi",
            "last_name": "Kumar",
            "email": "ravi@example.com",
            "license_number": "KA-12345",
            "specialization": "Dentistry",
        },
    )
    assert added.status_code == 201, added.content
    doctor = added.json()
    assert doctor["role"] == "doctor" and doctor["tenant_id"] == str(clinic_a.pk)
    assert doctor["doctor_id"] == doctor["id"]
    assert "password" not in str(doctor).lower()  # the invitation replaces the earlier one
    assert doctor["invitation_status"] == "invited"

    old_refresh = app.tokens["refresh_token"]
    refreshed = app.refresh()
    assert refreshed.status_code == 200, refreshed.content
    assert set(refreshed.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert app.get("/tenants/limits").status_code == 200  # the new access token works
    # The project's rotation: the refresh token used is blacklisted.
    again = api.post("/api/v1/auth/refresh", {"refresh_token": old_refresh}, format="json")
    assert again.status_code == 401

    out = app.logout()
    assert out.status_code == 200 and out.json() == {"message": "Successfully logged out"}
    after = api.post(
        "/api/v1/auth/refresh", {"refresh_token": app.tokens["refresh_token"]}, format="json"
    )
    assert after.status_code == 401


def test_wrong_password_and_unknown_email_answer_as_the_earlier_api(api, alice):
    wrong = EarlierApp(api).login("alice@asha.example", "not-the-password")
    unknown = EarlierApp(api).login("nobody@asha.example", "whatever-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == INCORRECT


def test_an_inactive_person_answers_as_a_wrong_password(api, clinic_a):
    member = add_member(clinic_a, email="gone@asha.example", role="nurse")
    with as_person(member.user_id):
        User.objects.filter(pk=member.user_id).update(is_active=False)
    answer = EarlierApp(api).login("gone@asha.example", TEST_PASSWORD)
    assert answer.status_code == 401 and answer.json() == INCORRECT


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "alice@asha.example"}, {"email": "not-an-email", "password": "x"}],
    ids=["empty", "no password", "bad email"],
)
def test_a_malformed_login_body_is_a_422(api, alice, body):
    answer = api.post("/api/v1/auth/login", body, format="json")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail and all(set(d) == {"loc", "msg", "type"} for d in detail)
    assert all(d["loc"][0] == "body" for d in detail)


def test_a_malformed_refresh_body_is_a_422_and_a_bad_token_a_401(api, db):
    assert api.post("/api/v1/auth/refresh", {}, format="json").status_code == 422
    bad = api.post("/api/v1/auth/refresh", {"refresh_token": "nope"}, format="json")
    assert bad.status_code == 401 and bad.json()["code"] == "token_not_valid"


def test_the_login_shares_the_lockout_of_the_token_endpoint(api, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post("/api/v1/auth/token", {"email": alice.email, "password": "wrong"}, format="json")
    answer = EarlierApp(api).login(alice.email, TEST_PASSWORD)
    assert answer.status_code == 429


def test_a_bcrypt_password_signs_in_and_is_upgraded_to_argon2(api, clinic_a):
    member = add_member(clinic_a, email="earlier@asha.example", role="doctor")
    hashed = bcrypt.hashpw(b"Earlier-Password-1", bcrypt.gensalt()).decode()
    # The hash lives in accounts_password (issue 12, item 5): save() stores it there.
    member.user.password = "bcrypt$" + hashed
    member.user.save(update_fields=["password"])
    answer = EarlierApp(api).login("earlier@asha.example", "Earlier-Password-1")
    assert answer.status_code == 200, answer.content
    assert person_by_id(member.user_id).password.startswith("argon2")


def test_permissions_come_from_the_role_matrix(api, clinic_a):
    add_member(clinic_a, email="desk@asha.example", role="receptionist")
    answer = EarlierApp(api).login("desk@asha.example", TEST_PASSWORD)
    permissions = answer.json()["permissions"]
    assert "read:patients" in permissions and "create:appointments" in permissions
    assert "read:prescriptions" not in permissions  # receptionists see no prescriptions
    assert "create:prescriptions" in role_permissions("doctor")
    assert answer.json()["user"]["role"] == "receptionist"
    assert answer.json()["user"]["doctor_id"] is None


def test_a_doctor_signs_in_with_doctor_id_and_specialization(api, clinic_a, bob):
    with tenant_context(clinic_a):
        doctor = Doctor.objects.create(user=bob, license_number="KA-1", specialization="Dental")
    answer = EarlierApp(api).login(bob.email, TEST_PASSWORD)
    assert answer.json()["user"]["doctor_id"] == str(doctor.pk)
    assert answer.json()["user"]["specialization"] == "Dental"


def test_tenants_me_adds_the_earlier_fields_and_keeps_the_projects(api, clinic_a, alice):
    app = EarlierApp(api)
    app.login(alice.email, TEST_PASSWORD)
    me = app.get("/tenants/me").json()
    assert me["max_clinics"] == me["max_storage_mb"] == me["days_until_expiry"] == -1
    assert me["subscription_ends_at"] is None and me["plan_limits"] == {}
    assert me["is_active"] is True and me["is_trial_expired"] is False
    assert me["billing_email"] is None and me["support_email"] is None
    assert me["is_subscription_expired"] is False
    # The project's fields keep their meaning: a trial clinic's limits are numbers.
    assert me["max_doctors"] == clinic_a.max_doctors and me["tenant_code"] == clinic_a.code


def test_unlimited_is_minus_one_in_compatibility_fields_only(api, db):
    clinic = create_clinic("Premium Care", owner_email="owner@premium.example", plan="premium")
    app = EarlierApp(api)
    app.login("owner@premium.example", TEST_PASSWORD)
    limits = app.get("/tenants/limits").json()
    assert limits["patients"]["max"] is None  # the project's field: null is unlimited
    me = app.get("/tenants/me").json()
    assert me["max_patients"] is None and me["max_storage_mb"] == -1
    assert limits["tenant_id"] == str(clinic.pk)


def test_offices_answer_the_earlier_list_beside_the_page(api, clinic_a, alice, bob):
    with tenant_context(clinic_a):
        main = Office.objects.create(name="Main", is_primary=True)
        Office.objects.create(name="Annexe")
        doctor = Doctor.objects.create(user=bob, license_number="KA-2", specialization="ENT")
        DoctorOffice.objects.create(doctor=doctor, office=main)
    app = EarlierApp(api)
    app.login(alice.email, TEST_PASSWORD)
    body = app.get("/tenants/offices").json()
    assert body["total"] == body["count"] == 2
    assert body["offices"] == body["results"]
    first = body["offices"][0]
    assert first["name"] == "Main" and first["is_tenant_default"] is True  # default first
    assert first["doctors"] == [
        {"id": str(doctor.pk), "name": doctor.full_name, "specialization": "ENT",
         "is_primary": True}
    ]  # fmt: skip


def test_the_doctor_answer_reveals_nothing_about_existing_accounts(api, clinic_a, alice):
    create_clinic("Elsewhere", owner_email="known@example.com")
    app = EarlierApp(api)
    app.login(alice.email, TEST_PASSWORD)
    answers = [
        app.post(
            "/tenants/doctors",
            {
                "first_name": "A",
                "last_name": "B",
                "email": email,
                "license_number": f"KA-9{n}",
                "specialization": "General",
            },
        )
        for n, email in enumerate(["known@example.com", "fresh@example.com"])
    ]
    assert [a.status_code for a in answers] == [201, 201]
    known, fresh = (a.json() for a in answers)
    assert set(known) == set(fresh)
    for field in ("role", "tenant_id"):
        assert known[field] == fresh[field]


def test_the_schema_lists_the_compatibility_endpoints(api, db):
    schema = api.get("/api/schema/?format=json").json()
    for path in ("/api/v1/auth/login/", "/api/v1/auth/refresh/"):
        assert "compatibility" in schema["paths"][path]["post"]["tags"]
    limits = schema["components"]["schemas"]["CompatLimits"]["properties"]
    assert {"tenant_id", "tenant_name", "subscription_plan", "trial_status"} <= set(limits)


def test_the_projects_logout_is_unchanged(api, alice):
    pair = api.post(
        "/api/v1/auth/token", {"email": alice.email, "password": TEST_PASSWORD}, format="json"
    ).json()
    out = api.post(
        "/api/v1/auth/logout",
        {"refresh": pair["refresh"]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {pair['access']}",
    )
    assert out.status_code == 204


def test_two_factor_applies_to_the_earlier_login_too(api, clinic_a, bob, settings):
    from accounts.tests.two_factor_helpers import enable_two_factor, fresh_code

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    enable_two_factor(bob)
    missing = EarlierApp(api).login(bob.email, TEST_PASSWORD)
    assert missing.status_code == 401 and missing.json()["code"] == "otp_required"
    answer = api.post(
        "/api/v1/auth/login",
        {"email": bob.email, "password": TEST_PASSWORD, "otp": fresh_code(bob)},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    access = jwt.decode(
        answer.json()["tokens"]["access_token"], options={"verify_signature": False}
    )
    assert access["mfa"] is True
