"""JWT pairs that act for one clinic.

Claims: `user_id`, `tenant_id`, `role`, and `ver` (the person's token version). The clinic
and role are verified against the database on every request (accounts.authentication); `ver`
makes every token of a person stop working when the password changes.
"""

from __future__ import annotations

from rest_framework_simplejwt.tokens import RefreshToken


def issue_tokens(membership) -> dict[str, str]:
    refresh = RefreshToken.for_user(membership.user)
    refresh["tenant_id"] = str(membership.tenant_id)
    refresh["role"] = membership.role
    refresh["ver"] = membership.user.token_version
    return {"refresh": str(refresh), "access": str(refresh.access_token)}
