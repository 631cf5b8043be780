from __future__ import annotations

from rest_framework import serializers

from accounts.models import Membership
from core.fields import PhoneField, StrictInputMixin
from tenants import plans
from tenants.billing.gst import validate_gstin
from tenants.models import AuditEvent, Tenant


class RegisterClinicSerializer(StrictInputMixin, serializers.Serializer):
    clinic_name = serializers.CharField(max_length=200)
    clinic_phone = PhoneField()
    clinic_address = serializers.CharField(max_length=1000)
    owner_first_name = serializers.CharField(max_length=100)
    owner_last_name = serializers.CharField(max_length=100)
    owner_email = serializers.EmailField(max_length=254)
    owner_phone = PhoneField(mobile=True)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=128)
    role = serializers.ChoiceField(
        choices=[("admin", "Admin"), ("admin_doctor", "Admin and doctor")]
    )
    license_number = serializers.CharField(max_length=50, required=False, allow_blank=True)
    specialization = serializers.CharField(max_length=100, required=False, allow_blank=True)
    qualification = serializers.CharField(max_length=200, required=False, allow_blank=True)
    experience_years = serializers.IntegerField(
        min_value=0, max_value=70, required=False, allow_null=True
    )


class TenantSerializer(StrictInputMixin, serializers.ModelSerializer):
    tenant_name = serializers.CharField(source="name", max_length=200)
    tenant_code = serializers.CharField(source="code", read_only=True)
    subscription_plan = serializers.CharField(source="plan", read_only=True)
    subscription_status = serializers.CharField(source="status", read_only=True)
    max_doctors = serializers.IntegerField(read_only=True, allow_null=True)
    max_patients = serializers.IntegerField(read_only=True, allow_null=True)
    phone = PhoneField(required=False, allow_blank=True)
    # Typed in any case; stored and validated in capitals (tenants.billing.gst).
    gstin = serializers.CharField(required=False, allow_blank=True, max_length=15)
    require_two_factor = serializers.BooleanField(
        required=False,
        help_text="Every member must sign in with a second factor. Only the owner changes it, "
        "and only with two-factor sign-in on for themself.",
    )

    class Meta:
        model = Tenant
        fields = [
            "id",
            "tenant_name",
            "tenant_code",
            "subscription_plan",
            "subscription_status",
            "trial_ends_at",
            "max_doctors",
            "max_patients",
            "email",
            "phone",
            "address",
            "gstin",
            "billing_state",
            "paid_until",
            "pending_plan",
            "require_two_factor",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "trial_ends_at",
            "paid_until",
            "pending_plan",
            "created_at",
            "updated_at",
        ]

    def validate_gstin(self, value: str) -> str:
        value = value.strip().upper()
        validate_gstin(value)
        return value


class TenantSummarySerializer(TenantSerializer):
    class Meta(TenantSerializer.Meta):
        fields = [
            "id",
            "tenant_name",
            "tenant_code",
            "subscription_plan",
            "subscription_status",
            "trial_ends_at",
            "max_doctors",
            "max_patients",
        ]


class RegisteredUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.CharField()
    tenant_id = serializers.UUIDField()


class RegisterClinicResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    tenant = TenantSummarySerializer()
    user = RegisteredUserSerializer()
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()


class UsageSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    max = serializers.IntegerField(allow_null=True)
    can_add = serializers.BooleanField()


class LimitsSerializer(serializers.Serializer):
    plan = serializers.CharField()
    plan_name = serializers.CharField()
    status = serializers.CharField()
    is_writable = serializers.BooleanField()
    doctors = UsageSerializer()
    patients = UsageSerializer()
    users = UsageSerializer()
    is_trial = serializers.BooleanField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    days_left = serializers.IntegerField(allow_null=True)
    is_expired = serializers.BooleanField()


class DoctorInviteSerializer(StrictInputMixin, serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    phone = PhoneField(mobile=True, required=False, allow_blank=True)
    license_number = serializers.CharField(max_length=50)
    specialization = serializers.CharField(max_length=100)
    qualification = serializers.CharField(max_length=200, required=False, allow_blank=True)
    experience_years = serializers.IntegerField(
        min_value=0, max_value=70, required=False, allow_null=True
    )
    office_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=50)


class AddedDoctorSerializer(serializers.Serializer):
    """An invited doctor as the clinic typed it. `user_id` stays null until the person
    accepts, whoever they are."""

    id = serializers.UUIDField()
    invitation_id = serializers.UUIDField()
    user_id = serializers.UUIDField(allow_null=True)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()
    license_number = serializers.CharField()
    specialization = serializers.CharField()
    qualification = serializers.CharField()
    experience_years = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    office_ids = serializers.SerializerMethodField()
    invitation_status = serializers.CharField()

    def get_office_ids(self, doctor) -> list[str]:
        return [str(link.office_id) for link in doctor.office_links.all()]


class PlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    max_doctors = serializers.IntegerField(allow_null=True)
    max_patients = serializers.IntegerField(allow_null=True)
    monthly_price_inr = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    price_display = serializers.CharField()
    notes = serializers.CharField()


class PlanChangeSerializer(StrictInputMixin, serializers.Serializer):
    plan = serializers.ChoiceField(choices=plans.PLAN_CHOICES)


class PlansResponseSerializer(serializers.Serializer):
    current = serializers.CharField()
    plans = PlanSerializer(many=True)


def membership_user_payload(membership: Membership) -> dict:
    user = membership.user
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": membership.role,
        "tenant_id": membership.tenant_id,
    }


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "action",
            "actor_id",
            "actor_email",
            "object_type",
            "object_id",
            "patient_id",
            "reason",
            "ip_address",
            "user_agent",
            "details",
        ]
        read_only_fields = fields
