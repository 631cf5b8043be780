"""The tenant API: clinic signup, the clinic's details, limits, offices, doctors and plan."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ADMIN_ROLES, OWNER_ONLY
from accounts.tokens import issue_tokens
from accounts.two_factor import tenant_two_factor_require
from accounts.viewsets import ClinicAPIView
from clinical.models import Doctor
from clinics import serializers
from clinics.billing import serializers as billing_serializers
from clinics.billing.services import plan_request
from clinics.selectors import clinic_limits
from clinics.services import clinic_register, doctor_invite
from tenants import plans
from tenants.context import tenant_context
from tenants.services import tenant_update


class RegisterClinicView(APIView):
    """Sign up a clinic and its owner; answers with tokens for the new clinic."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_scope = "signup"
    error_codes = ("400",)

    @extend_schema(
        request=serializers.RegisterClinicSerializer,
        responses={201: serializers.RegisterClinicResponseSerializer},
        tags=["tenants"],
    )
    def post(self, request):
        data = serializers.RegisterClinicSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant, user, membership = clinic_register(**data.validated_data)
        tokens = issue_tokens(membership)
        return Response(
            {
                "message": "Clinic registered. Check your e-mail to verify your address.",
                "tenant": serializers.TenantSummarySerializer(tenant).data,
                "user": serializers.membership_user_payload(membership),
                "access_token": tokens["access"],
                "refresh_token": tokens["refresh"],
                "token_type": "bearer",
            },
            status=status.HTTP_201_CREATED,
        )


class DoctorInviteView(ClinicAPIView):
    """Invite a doctor within the plan's doctor limit (owner or admin). The person joins by
    accepting the e-mailed invitation; until then the clinic sees what it typed."""

    write_roles = ADMIN_ROLES

    @extend_schema(
        request=serializers.DoctorInviteSerializer,
        responses={201: serializers.AddedDoctorSerializer},
        tags=["tenants"],
    )
    def post(self, request):
        data = serializers.DoctorInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doctor = doctor_invite(tenant=request.tenant, actor=request.user, **data.validated_data)
        # The same answer for every e-mail, with or without an account: the profile as the
        # clinic typed it and `invitation_status: "invited"` (issue 12, item 1).
        with tenant_context(request.tenant):
            doctor = (
                Doctor.objects.select_related("invitation")
                .prefetch_related("office_links")
                .get(pk=doctor.pk)
            )
        body = serializers.AddedDoctorSerializer(doctor).data
        return Response(body, status=status.HTTP_201_CREATED)


class LimitsView(ClinicAPIView):
    """The plan, usage against its limits, and trial status."""

    @extend_schema(responses=serializers.LimitsSerializer, tags=["tenants"])
    def get(self, request):
        return Response(serializers.LimitsSerializer(clinic_limits(request.tenant)).data)


class ClinicMeView(ClinicAPIView):
    """The clinic's details; owners and admins may change name and contact details."""

    write_roles = ADMIN_ROLES

    @extend_schema(responses=serializers.TenantSerializer, tags=["tenants"])
    def get(self, request):
        return Response(serializers.TenantSerializer(request.tenant).data)

    @extend_schema(
        request=serializers.TenantSerializer,
        responses=serializers.TenantSerializer,
        tags=["tenants"],
    )
    def patch(self, request):
        data = serializers.TenantSerializer(request.tenant, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        require_two_factor = changes.pop("require_two_factor", None)
        tenant = request.tenant
        if require_two_factor is not None:
            # The owner's decision, with its own rule (accounts.two_factor).
            tenant = tenant_two_factor_require(
                tenant=tenant,
                actor=request.user,
                membership=request.membership,
                required=require_two_factor,
            )
        if changes:
            tenant = tenant_update(tenant=tenant, actor=request.user, **changes)
        return Response(serializers.TenantSerializer(tenant).data)


class PlanView(ClinicAPIView):
    """The plans, and changing the clinic's plan (owner only; works when read-only)."""

    write_roles = OWNER_ONLY
    allow_when_inactive = True

    @extend_schema(responses=serializers.PlansResponseSerializer, tags=["tenants"])
    def get(self, request):
        return Response(
            {
                "current": request.tenant.plan,
                "plans": serializers.PlanSerializer(plans.PLANS.values(), many=True).data,
            }
        )

    @extend_schema(
        request=serializers.PlanChangeSerializer,
        responses=billing_serializers.PlanRequestSerializer,
        tags=["tenants"],
    )
    def post(self, request):
        """Ask for another plan. An upgrade answers 202 with the invoice to pay (the plan
        changes when it is paid); a downgrade is scheduled for the end of the paid period."""
        data = serializers.PlanChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = plan_request(tenant=request.tenant, actor=request.user, **data.validated_data)
        body = billing_serializers.PlanRequestSerializer(result, context={"request": request})
        return Response(
            body.data,
            status=status.HTTP_202_ACCEPTED if result.outcome == "invoice" else status.HTTP_200_OK,
        )
