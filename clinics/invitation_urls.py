"""The invitation API under /api/v1/auth/: accepting a link as a new person, and a signed-in
person's own invitations (accept, decline)."""

from __future__ import annotations

from django.urls import re_path

from clinics import invitation_api

urlpatterns = [
    re_path(
        r"^invitation/accept/?$",
        invitation_api.InvitationAcceptView.as_view(),
        name="invitation-accept",
    ),
    re_path(r"^invitations/?$", invitation_api.OwnInvitationsView.as_view(), name="my-invitations"),
    re_path(
        r"^invitations/(?P<pk>[0-9a-f-]{36})/accept/?$",
        invitation_api.OwnInvitationAcceptView.as_view(),
        name="my-invitation-accept",
    ),
    re_path(
        r"^invitations/(?P<pk>[0-9a-f-]{36})/decline/?$",
        invitation_api.OwnInvitationDeclineView.as_view(),
        name="my-invitation-decline",
    ),
]
