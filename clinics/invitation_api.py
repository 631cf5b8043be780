"""The invited person's API: their open invitations in every clinic, accept and decline.

Signed in (a token of any of their clinics), a person lists the invitations addressed to
their own e-mail and answers them; accepting answers the new clinic, and the client then
asks `POST /api/v1/auth/switch-tenant` for tokens there (so a clinic's two-factor
requirement applies as on every switch). A new person accepts through the e-mailed link
instead (`POST /api/v1/auth/invitation/accept`).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework import status
from rest_framework.response import Response

from accounts import serializers
from accounts.api import PublicAPIView
from accounts.selectors import invitations_for_person
from accounts.tokens import issue_tokens
from accounts.viewsets import ClinicAPIView
from clinics import services as clinic_services


class OwnInvitationSerializer(drf.Serializer):
    id = drf.UUIDField()
    tenant_id = drf.UUIDField()
    tenant_name = drf.CharField(source="clinic.name")
    role = drf.CharField()
    expires_at = drf.DateTimeField()
    created_at = drf.DateTimeField()


class JoinedClinicSerializer(drf.Serializer):
    tenant_id = drf.UUIDField()
    tenant_name = drf.CharField(source="tenant.name")
    tenant_code = drf.CharField(source="tenant.code")
    role = drf.CharField()


class OwnInvitationsView(ClinicAPIView):
    """The open invitations addressed to the signed-in person's e-mail, in every clinic."""

    allow_when_inactive = True
    pagination_class = None

    @extend_schema(responses=OwnInvitationSerializer(many=True), tags=["auth"])
    def get(self, request):
        invitations = invitations_for_person(user=request.user)
        return Response(OwnInvitationSerializer(invitations, many=True).data)


class OwnInvitationAcceptView(ClinicAPIView):
    """Accept one of your invitations: you become a member of that clinic. Get tokens for it
    with `POST /api/v1/auth/switch-tenant`."""

    allow_when_inactive = True

    @extend_schema(request=None, responses=JoinedClinicSerializer, tags=["auth"])
    def post(self, request, pk):
        membership = clinic_services.invitation_accept_signed_in(
            user=request.user, invitation_id=pk
        )
        return Response(JoinedClinicSerializer(membership).data)


class OwnInvitationDeclineView(ClinicAPIView):
    """Decline one of your invitations; the clinic keeps nothing about you."""

    allow_when_inactive = True

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request, pk):
        clinic_services.invitation_decline_signed_in(user=request.user, invitation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(PublicAPIView):
    """Accept an invitation link as a new person: the account is created with the password
    chosen here, the membership with it, and tokens for that clinic are returned. An address
    that already has an account gets 409 `sign_in_required`: sign in and accept from
    `GET /api/v1/auth/invitations`."""

    @extend_schema(
        request=serializers.InvitationAcceptSerializer,
        responses=serializers.TokenPairSerializer,
        tags=["auth"],
    )
    def post(self, request):
        data = serializers.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = clinic_services.invitation_accept(**data.validated_data)
        return Response(issue_tokens(membership))
