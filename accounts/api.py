"""The auth API: JWT pairs that act for one clinic, and everything around credentials."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services
from accounts.selectors import memberships_of
from accounts.tokens import issue_tokens
from accounts.two_factor import OTPRequired, TwoFactorError, two_factor_require_verified
from accounts.viewsets import ClinicAPIView
from core.errors import PermissionDeniedError


class PublicAPIView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "auth"
    error_codes = ("400", "401")


def _clinic(membership) -> dict:
    return {
        "tenant_id": membership.tenant_id,
        "tenant_name": membership.tenant.name,
        "tenant_code": membership.tenant.code,
        "role": membership.role,
        "last_used_at": membership.last_used_at,
    }


class TokenObtainView(PublicAPIView):
    """Log in with e-mail and password. Without `tenant_id`, the clinic used most recently."""

    @extend_schema(
        request=serializers.LoginSerializer,
        responses=serializers.TokenPairSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            membership = services.auth_login(
                request=request._request,
                email=data.validated_data["email"],
                password=data.validated_data["password"],
                tenant_id=data.validated_data.get("tenant_id"),
                otp=data.validated_data.get("otp") or None,
            )
        except (services.InvalidCredentials, services.LockedOut, TwoFactorError) as exc:
            # Answered, not raised: a raised error rolls the request's transaction back, and
            # with it the failed-attempt record that brute-force protection counts.
            return Response({"code": exc.code, "detail": exc.detail}, status=exc.status_code)
        return Response(issue_tokens(membership, mfa=membership.second_factor.verified))


class TokenRefreshView(PublicAPIView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    @extend_schema(
        request=serializers.RefreshSerializer,
        responses=serializers.TokenPairSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_refresh(refresh=data.validated_data["refresh"]))


class LogoutView(ClinicAPIView):
    """Blacklist the refresh token (the access token expires on its own, within minutes)."""

    allow_when_inactive = True

    @extend_schema(request=serializers.RefreshSerializer, responses={204: None}, tags=["auth"])
    def post(self, request):
        data = serializers.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_blacklist(user=request.user, refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(ClinicAPIView):
    """The person, the clinic this token acts for, and all the person's clinics."""

    @extend_schema(responses=serializers.MeSerializer, tags=["auth"])
    def get(self, request):
        user = request.user
        clinics = [_clinic(m) for m in memberships_of(user)]
        body = {
            "user": {
                "id": user.pk,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "phone": user.phone,
                "email_verified": user.email_verified_at is not None,
            },
            "tenant": _clinic(request.membership),
            "role": request.membership.role,
            "clinics": clinics,
        }
        return Response(serializers.MeSerializer(body).data)


class SwitchClinicView(ClinicAPIView):
    """New tokens for another of the person's clinics."""

    allow_when_inactive = True

    @extend_schema(
        request=serializers.SwitchTenantSerializer,
        responses=serializers.TokenPairSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.SwitchTenantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.clinic_switch(
            user=request.user, tenant_id=data.validated_data["tenant_id"]
        )
        # The other clinic may require a second factor this sign-in never gave.
        verified = bool(request.auth.get("mfa"))
        try:
            two_factor_require_verified(user=request.user, membership=membership, verified=verified)
        except OTPRequired as exc:
            raise PermissionDeniedError(exc.detail, code=exc.code) from exc
        return Response(issue_tokens(membership, mfa=verified))


class ChangePasswordView(ClinicAPIView):
    """Change the password; every other token of the person stops working. Answers a fresh
    pair so this client stays logged in."""

    allow_when_inactive = True

    @extend_schema(
        request=serializers.ChangePasswordSerializer,
        responses=serializers.TokenPairSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.ChangePasswordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_change(user=request.user, **data.validated_data)
        request.membership.user.refresh_from_db()
        return Response(issue_tokens(request.membership, mfa=bool(request.auth.get("mfa"))))


class PasswordResetView(PublicAPIView):
    """E-mail a reset link. The answer is the same whether or not the account exists."""

    @extend_schema(
        request=serializers.PasswordResetSerializer,
        responses={202: serializers.DetailSerializer},
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response(
            {"detail": "If an account exists for this e-mail, a reset link is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


class PasswordResetConfirmView(PublicAPIView):
    @extend_schema(
        request=serializers.PasswordResetConfirmSerializer,
        responses=serializers.DetailSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response({"detail": "Password changed. Log in with the new password."})


class VerifyEmailView(PublicAPIView):
    @extend_schema(
        request=serializers.TokenOnlySerializer,
        responses=serializers.DetailSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.TokenOnlySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.email_verification_confirm(token=data.validated_data["token"])
        return Response({"detail": "E-mail address verified."})


class ResendVerificationView(ClinicAPIView):
    allow_when_inactive = True

    @extend_schema(request=None, responses={202: serializers.DetailSerializer}, tags=["auth"])
    def post(self, request):
        if request.user.email_verified_at is None:
            services.email_verification_send(user=request.user)
        return Response({"detail": "Verification e-mail sent."}, status=status.HTTP_202_ACCEPTED)
