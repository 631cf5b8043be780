"""Clinic pages: signup, dashboard, plan, clinic settings."""

from __future__ import annotations

from django.urls import path

from clinics import invitation_views, team_views, views
from clinics.billing import views as billing_views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("clinic/", views.dashboard, name="dashboard"),
    path("clinic/plan/", views.plan, name="plan"),
    path("clinic/plan/invoices/<uuid:pk>/pdf/", billing_views.invoice_pdf, name="invoice-pdf"),
    path("clinic/plan/invoices/<uuid:pk>/pay/", billing_views.invoice_pay, name="invoice-pay"),
    path("clinic/settings/", views.clinic_settings, name="clinic-settings"),
    path("clinic/settings/offices/", views.office_add, name="office-add"),
    path("clinic/settings/offices/<uuid:pk>/", views.office_edit, name="office-edit"),
    path("invite/<str:token>/", invitation_views.invitation_link, name="join-clinic"),
    path("invitations/", invitation_views.invitation_list, name="invitations"),
    path(
        "invitations/<uuid:pk>/accept/",
        invitation_views.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "invitations/<uuid:pk>/decline/",
        invitation_views.invitation_decline,
        name="invitation-decline",
    ),
    path("clinic/settings/two-factor/", views.clinic_two_factor, name="clinic-two-factor"),
    path("clinic/team/", team_views.team, name="team"),
    path("clinic/team/invite-doctor/", team_views.invite_doctor, name="team-invite-doctor"),
    path("clinic/team/invite-staff/", team_views.invite_staff, name="team-invite-staff"),
    path("clinic/team/members/<uuid:pk>/role/", team_views.member_role, name="member-role"),
    path(
        "clinic/team/members/<uuid:pk>/deactivate/",
        team_views.member_deactivate,
        name="member-deactivate",
    ),
    path(
        "clinic/team/members/<uuid:pk>/reactivate/",
        team_views.member_reactivate,
        name="member-reactivate",
    ),
    path(
        "clinic/team/invitations/<uuid:pk>/resend/",
        team_views.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "clinic/team/invitations/<uuid:pk>/revoke/",
        team_views.invitation_revoke,
        name="invitation-revoke",
    ),
]
