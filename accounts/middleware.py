"""Keep open browser sessions honest about two-factor sign-in.

A session that was signed in with a second factor is marked (`SESSION_VERIFIED_KEY`) and
costs nothing here. One that was not is checked on each page request (a few reads, the same
number every time): if the person now needs a second factor (they turned it on in another
browser, their clinic started requiring it, their grace period ended) the session ends and
the login page asks for the code. Otherwise the check leaves the grace period's end on the
request, for the reminder banner.

Runs after `ClinicSessionMiddleware` (it needs the session's verified membership). The API
has no sessions: its refresh tokens are checked in `accounts.services.token_refresh`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect

from accounts.two_factor import SESSION_VERIFIED_KEY, two_factor_status

# Pages a person must reach whatever their two-factor state (signing in and out, the links
# sent by e-mail), and what is not a page at all.
EXEMPT_PREFIXES = (
    "/static/",
    "/api/",
    "/login/",
    "/logout/",
    "/admin/operator-login/",
    "/password-reset/",
    "/reset/",
    "/invite/",
    "/verify-email/",
    "/healthz",
    "/readyz",
    "/metrics",
)


class TwoFactorSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.two_factor_reminder = None
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and hasattr(request, "session")
            and not request.session.get(SESSION_VERIFIED_KEY)
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            refused = self._check(request, user)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check(self, request, user):
        status = two_factor_status(
            user=user, membership=getattr(request, "membership", None), record=False
        )
        if status.needs_code:
            operator = getattr(request, "membership", None) is None and user.is_superuser
            logout(request)
            messages.info(request, "Two-factor sign-in is required: log in again with your code.")
            login_url = "/admin/operator-login/" if operator else settings.LOGIN_URL
            return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.path})}")
        request.two_factor_reminder = status.grace_ends_at if status.reminder else None
        return None
