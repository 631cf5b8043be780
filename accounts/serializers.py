from __future__ import annotations

from rest_framework import serializers

from core.fields import StrictInputMixin


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginSerializer(StrictInputMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(trim_whitespace=False, max_length=128, write_only=True)
    tenant_id = serializers.UUIDField(required=False, allow_null=True)
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        write_only=True,
        help_text="With two-factor sign-in: the 6-digit code from the authenticator app, or "
        "a recovery code. Without it such an account gets 401 `otp_required`.",
    )


class RefreshSerializer(StrictInputMixin, serializers.Serializer):
    refresh = serializers.CharField(max_length=2000)


class SwitchTenantSerializer(StrictInputMixin, serializers.Serializer):
    tenant_id = serializers.UUIDField()


class ChangePasswordSerializer(StrictInputMixin, serializers.Serializer):
    old_password = serializers.CharField(trim_whitespace=False, max_length=128)
    new_password = serializers.CharField(trim_whitespace=False, max_length=128)


class PasswordResetSerializer(StrictInputMixin, serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictInputMixin, serializers.Serializer):
    uid = serializers.CharField(max_length=100)
    token = serializers.CharField(max_length=200)
    new_password = serializers.CharField(trim_whitespace=False, max_length=128)


class TokenOnlySerializer(StrictInputMixin, serializers.Serializer):
    token = serializers.CharField(max_length=500)


class InvitationAcceptSerializer(StrictInputMixin, serializers.Serializer):
    token = serializers.CharField(max_length=500)
    password = serializers.CharField(trim_whitespace=False, max_length=128)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="Your phone number; without it, the one the clinic typed.",
    )


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class MeUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    email_verified = serializers.BooleanField()


class ClinicMembershipSerializer(serializers.Serializer):
    tenant_id = serializers.UUIDField()
    tenant_name = serializers.CharField()
    tenant_code = serializers.CharField()
    role = serializers.CharField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    user = MeUserSerializer()
    tenant = ClinicMembershipSerializer()
    role = serializers.CharField()
    clinics = ClinicMembershipSerializer(many=True)
