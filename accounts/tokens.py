"""JWT pairs that act for one clinic.

Claims: `user_id`, `tenant_id`, `role`, `ver` (the person's token version) and `mfa`
(whether the sign-in gave a second factor). The clinic and role are verified against the
database on every request (accounts.authentication); `ver` makes every token of a person stop
working when the password changes.
"""

from __future__ import annotations

from rest_framework_simplejwt.tokens import RefreshToken


def issue_tokens(membership, *, mfa: bool = False) -> dict[str, str]:
    refresh = RefreshToken.for_user(membership.user)
    refresh["tenant_id"] = str(membership.tenant_id)
    refresh["role"] = membership.role
    refresh["ver"] = membership.user.token_version
    # Whether this sign-in gave a second factor; a refresh keeps it, and is refused when the
    # person needs one and it is false (accounts.services.token_refresh).
    refresh["mfa"] = bool(mfa)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}
