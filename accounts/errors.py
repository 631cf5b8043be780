"""The refusals of signing in, shared by the sign-in services and two-factor (which must not
import each other's modules in a circle)."""

from __future__ import annotations

from core.errors import ApplicationError


class InvalidCredentials(ApplicationError):
    status_code = 401
    code = "invalid_credentials"

    def __init__(self):
        # One message for an unknown e-mail and a wrong password: no account enumeration.
        super().__init__("E-mail or password is incorrect.")


class LockedOut(ApplicationError):
    status_code = 429
    code = "locked_out"
