"""Compatibility endpoints for the earlier system's mobile clients (issue 20;
/work/shared/earlier-system.md, summarised in docs/operations.md).

`POST /api/v1/auth/login` and `POST /api/v1/auth/refresh` answer in the earlier API's shapes
but run the project's own sign-in: the login view *is* the token view (same credentials
check, django-axes lockout, two-factor `otp`, throttle scope), the refresh is the same
rotation with blacklisting. Only the request and answer are translated. `POST
/api/v1/auth/logout` also takes the earlier body (`{refresh_token?}`); with the project's
body (`{refresh}`) it is the project's logout, unchanged.

The fields the earlier clients read on the tenant endpoints are added there (clinics.api,
clinics.serializers) by the helpers below; where the two systems disagree, for example
unlimited as `-1` versus `null`, the added fields follow the earlier system and the
project's own fields keep their meaning.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services
from accounts.api import LogoutView, TokenObtainView, TokenRefreshView
from accounts.models import Role
from accounts.selectors import membership_for_token
from clinical.api import offices
from clinical.models import Doctor
from clinical.permissions import MATRIX, Rule
from clinical.serializers.offices import OfficeSerializer
from clinics import api as clinic_api
from clinics import serializers as clinic_serializers
from clinics.selectors import clinic_limits
from tenants.context import tenant_context

TAG = "compatibility"
DESCRIPTION = (
    "Compatibility endpoint for the earlier system's mobile clients: the earlier API's "
    "request and answer, the project's own authentication behind it. New clients use "
    "`POST /api/v1/auth/token` and `/token/refresh`."
)
INCORRECT = "Incorrect email or password"
UNLIMITED = -1  # the earlier system's "no limit"
# The earlier system had no owner: its clinic administrators were `admin`.
EARLIER_ROLE = {Role.OWNER: "admin"}


def role_permissions(role: str) -> list[str]:
    """The earlier API's permission strings (`read:patients`, …) for a role, from the role
    matrix (clinical.permissions, docs/permissions.md): every action the role may take,
    itself or as a doctor."""
    return sorted(
        f"{action}:{resource}"
        for resource, actions in MATRIX.items()
        for action, roles in actions.items()
        if roles.get(role, Rule.DENY) != Rule.DENY
    )


def earlier_limit(value: int | None) -> int:
    return UNLIMITED if value is None else value


def tokens_payload(pair: dict) -> dict:
    return {
        "access_token": pair["access"],
        "refresh_token": pair["refresh"],
        "token_type": "bearer",
        "expires_in": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
    }


def user_payload(membership) -> dict:
    """The earlier API's `user` object for a member of a clinic."""

    user = membership.user
    with tenant_context(membership.tenant_id, user=user):
        doctor = (
            Doctor.objects.filter(user=user, is_active=True).only("id", "specialization").first()
        )
    permissions = role_permissions(membership.role)
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": EARLIER_ROLE.get(membership.role, membership.role),
        "tenant_id": membership.tenant_id,
        "doctor_id": doctor.pk if doctor else None,
        "specialization": doctor.specialization if doctor else None,
        "is_active": user.is_active,
        "full_name": f"{user.first_name} {user.last_name}".strip(),
        "permissions": permissions,
        "last_login": user.last_login,
        "created_at": user.date_joined,
        "updated_at": user.last_login or user.date_joined,
        "keycloak_id": None,
        "temporary_password": None,
    }


# --- serializers (requests, and the answers' shapes for the schema) ---------------------------


class LoginRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(trim_whitespace=False, max_length=128)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="The second factor, when the person or the clinic requires one.",
    )


class RefreshRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=2000)


class LogoutRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    refresh = serializers.CharField(max_length=2000, required=False)


class TokensSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class EarlierUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField(help_text="An owner is `admin`, as in the earlier system.")
    tenant_id = serializers.UUIDField()
    doctor_id = serializers.UUIDField(allow_null=True)
    specialization = serializers.CharField(allow_null=True)
    is_active = serializers.BooleanField()
    full_name = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    last_login = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    keycloak_id = serializers.CharField(allow_null=True)
    temporary_password = serializers.CharField(allow_null=True)


class LoginAnswerSerializer(serializers.Serializer):
    user = EarlierUserSerializer()
    tokens = TokensSerializer()
    permissions = serializers.ListField(child=serializers.CharField())


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class UnprocessableSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.ListField(child=serializers.DictField())


def unprocessable(errors: dict) -> Response:
    """A malformed body, answered as the earlier API (FastAPI) did: 422 and a list of
    `{loc, msg, type}`; `code` as every error of this API has one."""
    detail = [
        {"loc": ["body", field], "msg": str(message), "type": "value_error"}
        for field, messages in errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    ]
    return Response(
        {"code": "invalid", "detail": detail}, status=status.HTTP_422_UNPROCESSABLE_ENTITY
    )


# --- views ----------------------------------------------------------------------------------


class LoginView(TokenObtainView):
    """Sign in as the earlier mobile clients do."""

    error_codes = ("401", "422", "429")

    @extend_schema(
        request=LoginRequestSerializer,
        responses={
            200: LoginAnswerSerializer,
            401: OpenApiResponse(description=f'`{{"detail": "{INCORRECT}"}}`'),
            422: UnprocessableSerializer,
        },
        tags=[TAG],
        description=DESCRIPTION,
    )
    def post(self, request):
        data = LoginRequestSerializer(data=request.data)
        if not data.is_valid():
            return unprocessable(data.errors)
        answer = super().post(request)  # the project's own sign-in, unchanged
        if answer.status_code == status.HTTP_401_UNAUTHORIZED and answer.data.get("code") == (
            services.InvalidCredentials.code
        ):
            return Response(
                {"code": services.InvalidCredentials.code, "detail": INCORRECT},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        if answer.status_code != status.HTTP_200_OK:
            return answer
        claims = AccessToken(answer.data["access"])
        membership = membership_for_token(user_id=claims["user_id"], tenant_id=claims["tenant_id"])
        user = user_payload(membership)
        return Response(
            {
                "user": user,
                "tokens": tokens_payload(answer.data),
                "permissions": user["permissions"],
            }
        )


class RefreshView(TokenRefreshView):
    """A new pair for a refresh token, as the earlier mobile clients ask for it. The project's
    rotation applies: the refresh token sent stops working."""

    error_codes = ("401", "422")

    @extend_schema(
        request=RefreshRequestSerializer,
        responses={200: TokensSerializer, 422: UnprocessableSerializer},
        tags=[TAG],
        description=DESCRIPTION,
    )
    def post(self, request):
        data = RefreshRequestSerializer(data=request.data)
        if not data.is_valid():
            return unprocessable(data.errors)
        pair = services.token_refresh(refresh=data.validated_data["refresh_token"])
        return Response(tokens_payload(pair))


class CompatLogoutView(LogoutView):
    """Sign out. With `{refresh}` this is the project's logout (204). The earlier clients send
    `{refresh_token}` (or nothing) and read `{message}`: their refresh token is blacklisted
    when they send one, which the earlier system never did."""

    @extend_schema(
        request=LogoutRequestSerializer,
        responses={204: None, 200: MessageSerializer, 422: UnprocessableSerializer},
        tags=["auth", TAG],
    )
    def post(self, request):
        if "refresh" in request.data:
            return super().post(request)
        data = LogoutRequestSerializer(data=request.data)
        if not data.is_valid():
            return unprocessable(data.errors)
        if data.validated_data.get("refresh_token"):
            services.token_blacklist(
                user=request.user, refresh=data.validated_data["refresh_token"]
            )
        return Response({"message": "Successfully logged out"})


# --- the tenant endpoints: the project's answers plus the fields the earlier clients read ---


class TrialStatusSerializer(serializers.Serializer):
    is_trial = serializers.BooleanField()
    trial_ends_at = serializers.CharField(allow_null=True, help_text="ISO 8601, or null.")
    is_expired = serializers.BooleanField()


class CompatLimitsSerializer(clinic_serializers.LimitsSerializer):
    tenant_id = serializers.UUIDField(help_text="Compatibility: the earlier API's field.")
    tenant_name = serializers.CharField(help_text="Compatibility: the earlier API's field.")
    subscription_plan = serializers.CharField(help_text="Compatibility: the plan's code.")
    trial_status = TrialStatusSerializer(help_text="Compatibility: the earlier API's object.")


def limits_payload(tenant) -> dict:
    data = clinic_limits(tenant)
    ends = data.get("trial_ends_at")
    return {
        **data,
        "tenant_id": tenant.pk,
        "tenant_name": tenant.name,
        "subscription_plan": tenant.plan,
        "trial_status": {
            "is_trial": data["is_trial"],
            "trial_ends_at": ends.isoformat() if ends else None,
            "is_expired": data["is_expired"],
        },
    }


class CompatTenantSerializer(clinic_serializers.TenantSerializer):
    """The clinic as the project describes it, plus the earlier `GET /tenants/me` fields. The
    earlier endpoint never filled `subscription_ends_at` and the last seven below, so they
    answer its defaults; `max_clinics` and `max_storage_mb` were never limited here (-1)."""

    subscription_ends_at = serializers.SerializerMethodField()
    max_clinics = serializers.SerializerMethodField()
    max_storage_mb = serializers.SerializerMethodField()
    is_active = serializers.SerializerMethodField()
    billing_email = serializers.SerializerMethodField()
    support_email = serializers.SerializerMethodField()
    is_trial_expired = serializers.SerializerMethodField()
    is_subscription_expired = serializers.SerializerMethodField()
    days_until_expiry = serializers.SerializerMethodField()
    plan_limits = serializers.SerializerMethodField()

    class Meta(clinic_serializers.TenantSerializer.Meta):
        fields = [
            *clinic_serializers.TenantSerializer.Meta.fields,
            "subscription_ends_at",
            "max_clinics",
            "max_storage_mb",
            "is_active",
            "billing_email",
            "support_email",
            "is_trial_expired",
            "is_subscription_expired",
            "days_until_expiry",
            "plan_limits",
        ]

    def get_subscription_ends_at(self, tenant) -> str | None:
        return None

    def get_max_clinics(self, tenant) -> int:
        return UNLIMITED

    def get_max_storage_mb(self, tenant) -> int:
        return UNLIMITED

    def get_is_active(self, tenant) -> bool:
        return tenant.is_writable

    def get_billing_email(self, tenant) -> str | None:
        return None

    def get_support_email(self, tenant) -> str | None:
        return None

    def get_is_trial_expired(self, tenant) -> bool:
        return False

    def get_is_subscription_expired(self, tenant) -> bool:
        return False

    def get_days_until_expiry(self, tenant) -> int:
        return UNLIMITED

    def get_plan_limits(self, tenant) -> dict:
        return {}


class CompatAddedDoctorSerializer(clinic_serializers.AddedDoctorSerializer):
    """The project's answer, plus what the earlier clients read of the new user. Like the
    project's fields, these say nothing about whether the e-mail has an account."""

    role = serializers.CharField(help_text="Compatibility: always `doctor`.")
    tenant_id = serializers.UUIDField(help_text="Compatibility: the clinic.")
    doctor_id = serializers.UUIDField(help_text="Compatibility: the doctor profile (`id`).")
    # The earlier answer's `temporary_password` is left out: no password, not even an empty
    # one, is part of this answer (the invitation replaces it).


class CompatOfficeDoctorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    specialization = serializers.CharField()
    is_primary = serializers.BooleanField()


class CompatOfficeSerializer(OfficeSerializer):
    is_tenant_default = serializers.BooleanField(
        source="is_primary", read_only=True, help_text="Compatibility: the clinic's main office."
    )

    class Meta(OfficeSerializer.Meta):
        fields = [*OfficeSerializer.Meta.fields, "is_tenant_default"]

    def get_doctors(self, office) -> list[dict]:
        doctors = super().get_doctors(office)
        # Compatibility: the earlier `is_primary` of a doctor's office; here an office is the
        # clinic's main one or not.
        return [{**doctor, "is_primary": office.is_primary} for doctor in doctors]


# The whole page, not one item of a paginated list: without many=False the schema wrapped
# it in a second pagination and every answer failed it (found by schemathesis).
@extend_schema_serializer(many=False)
class CompatOfficeListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CompatOfficeSerializer(many=True)
    offices = CompatOfficeSerializer(many=True, help_text="Compatibility: `results` again.")
    total = serializers.IntegerField(help_text="Compatibility: `count` again.")


class LimitsView(clinic_api.LimitsView):
    @extend_schema(responses=CompatLimitsSerializer, tags=["tenants"])
    def get(self, request):
        return Response(CompatLimitsSerializer(limits_payload(request.tenant)).data)


class ClinicMeView(clinic_api.ClinicMeView):
    @extend_schema(responses=CompatTenantSerializer, tags=["tenants"])
    def get(self, request):
        return Response(CompatTenantSerializer(request.tenant).data)

    @extend_schema(
        request=clinic_serializers.TenantSerializer,
        responses=CompatTenantSerializer,
        tags=["tenants"],
    )
    def patch(self, request):
        super().patch(request)
        request.tenant.refresh_from_db()
        return Response(CompatTenantSerializer(request.tenant).data)


class DoctorInviteView(clinic_api.DoctorInviteView):
    @extend_schema(
        request=clinic_serializers.DoctorInviteSerializer,
        responses={201: CompatAddedDoctorSerializer},
        tags=["tenants"],
    )
    def post(self, request):
        answer = super().post(request)
        if answer.status_code == status.HTTP_201_CREATED:
            answer.data.update(
                role="doctor", tenant_id=str(request.tenant.pk), doctor_id=answer.data["id"]
            )
        return answer


@extend_schema(tags=["tenants"])
class OfficeViewSet(offices.OfficeViewSet):
    serializer_class = CompatOfficeSerializer

    @extend_schema(responses=CompatOfficeListSerializer)
    def list(self, request, *args, **kwargs):
        answer = super().list(request, *args, **kwargs)
        if isinstance(answer.data, dict) and "results" in answer.data:
            answer.data["offices"] = answer.data["results"]
            answer.data["total"] = answer.data["count"]
        return answer
