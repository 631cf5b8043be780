"""Write operations on people, memberships and credentials, one module per resource:
`people`, `auth` (signing in, the clinic a session works in), `passwords`, `verification`,
`memberships` (the one rule for roles), `invitations` and `tokens` (refresh and logout).

The API, the pages, the admin and the clinic layer (`clinics.services`) call these through
this package; none of them writes these models directly."""

from __future__ import annotations

from accounts.errors import InvalidCredentials, LockedOut
from accounts.services.auth import (
    auth_login,
    auth_login_second_step,
    clinic_switch,
    membership_touch,
    operator_login,
    operator_login_second_step,
)
from accounts.services.invitations import (
    INVITATION_DAYS,
    invitation_accept,
    invitation_accept_signed_in,
    invitation_create,
    invitation_decline,
    invitation_decline_signed_in,
    invitation_resend,
    invitation_revoke,
)
from accounts.services.memberships import (
    grantable_roles,
    membership_deactivate,
    membership_reactivate,
    membership_role_change,
)
from accounts.services.passwords import (
    password_change,
    password_reset_confirm,
    password_reset_link_valid,
    password_reset_request,
)
from accounts.services.people import (
    EMAIL_UNIQUE_CONSTRAINTS,
    check_password_strength,
    email_taken_error,
    user_active_set,
    user_create,
    user_staff_set,
)
from accounts.services.tokens import InvalidToken, token_blacklist, token_refresh, tokens_revoke_all
from accounts.services.verification import (
    EMAIL_VERIFICATION_MAX_AGE,
    EMAIL_VERIFICATION_SALT,
    email_verification_confirm,
    email_verification_send,
)

__all__ = [
    "EMAIL_UNIQUE_CONSTRAINTS",
    "EMAIL_VERIFICATION_MAX_AGE",
    "EMAIL_VERIFICATION_SALT",
    "INVITATION_DAYS",
    "InvalidCredentials",
    "InvalidToken",
    "LockedOut",
    "auth_login",
    "auth_login_second_step",
    "check_password_strength",
    "email_taken_error",
    "email_verification_confirm",
    "email_verification_send",
    "grantable_roles",
    "invitation_accept",
    "invitation_accept_signed_in",
    "invitation_create",
    "invitation_decline",
    "invitation_decline_signed_in",
    "invitation_resend",
    "invitation_revoke",
    "membership_deactivate",
    "membership_reactivate",
    "membership_role_change",
    "membership_touch",
    "operator_login",
    "operator_login_second_step",
    "password_change",
    "password_reset_confirm",
    "password_reset_link_valid",
    "password_reset_request",
    "clinic_switch",
    "token_blacklist",
    "token_refresh",
    "tokens_revoke_all",
    "user_active_set",
    "user_create",
    "user_staff_set",
]
