"""Bind a browser session's clinic to the request (pages and the admin).

Runs after Django's AuthenticationMiddleware. The session stores only the id of the clinic
the person chose; on every request it is checked against an active membership (so removing
a member or cancelling a clinic takes effect at once) and the verified clinic becomes the
tenant context for the rest of the request. The context reaches PostgreSQL inside the view's
transaction (tenants.backend), not here: middleware runs outside ATOMIC_REQUESTS.

API requests carry no session; DRF sets their context after JWT authentication
(accounts.viewsets).
"""

from __future__ import annotations

from django.contrib.auth import login as django_login
from django.urls import reverse

from accounts.models import Membership
from accounts.selectors import active_membership
from tenants.context import activate, deactivate

SESSION_CLINIC_KEY = "clinic_tenant_id"
# The password was checked by `auth_login` (through django-axes); Django's login() only
# needs to know which backend loads the person again on the next request: PersonBackend
# reads them in their own context (row-level security on people).
SESSION_BACKEND = "accounts.authentication.PersonBackend"


def start_clinic_session(request, membership) -> None:
    """Log the person in (a fresh session key) acting for the membership's clinic."""
    django_login(request, membership.user, backend=SESSION_BACKEND)
    request.session[SESSION_CLINIC_KEY] = str(membership.tenant_id)


def start_session(request, signed_in) -> str:
    """Log in after `auth_login` (or its second step); answers where to go by default. A
    person with no clinic yet, only open invitations (a `User`, not a membership), gets a
    session without a clinic: the clinic pages turn it away, their invitations take it in."""
    if isinstance(signed_in, Membership):
        start_clinic_session(request, signed_in)
        return "/clinic/"
    django_login(request, signed_in, backend=SESSION_BACKEND)
    request.session.pop(SESSION_CLINIC_KEY, None)
    return reverse("invitations")


class ClinicSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        user = getattr(request, "user", None)
        tenant_id = request.session.get(SESSION_CLINIC_KEY) if hasattr(request, "session") else None
        if tenant_id and user is not None and user.is_authenticated:
            membership = active_membership(user=user, tenant_id=tenant_id)
            if membership is None:
                request.session.pop(SESSION_CLINIC_KEY, None)
            else:
                request.tenant = membership.tenant
                request.membership = membership
        authenticated = user is not None and user.is_authenticated
        token = activate(request.tenant, user=user if authenticated else None)
        try:
            return self.get_response(request)
        finally:
            deactivate(token)
