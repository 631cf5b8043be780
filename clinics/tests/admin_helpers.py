"""Logging a browser into the admin the way the site's login page does, for tests."""

from __future__ import annotations

from django.db import connections
from django.test.utils import CaptureQueriesContext

from accounts.clinic_middleware import SESSION_CLINIC_KEY
from accounts.models import User

BACKEND = "accounts.authentication.PersonBackend"


def staff(user) -> User:
    # The runtime role cannot write the flag with a plain UPDATE (issue 12, item 5): save()
    # sends it through the credentials function.
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def log_in(client, user, tenant=None):
    """Log `user` in; with `tenant`, bind that clinic to the session (what /login/ does)."""
    client.force_login(user, backend=BACKEND)
    if tenant is not None:
        session = client.session
        session[SESSION_CLINIC_KEY] = str(tenant.pk)
        session.save()
    return client


class AllQueries:
    """Counts the statements sent through the given aliases (platform requests use two)."""

    def __init__(self, *aliases: str):
        self.aliases = aliases or ("default",)

    def __enter__(self):
        self._contexts = [CaptureQueriesContext(connections[a]) for a in self.aliases]
        for context in self._contexts:
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in self._contexts:
            context.__exit__(*exc)

    @property
    def count(self) -> int:
        return sum(len(c.captured_queries) for c in self._contexts)

    @property
    def statements(self) -> list[str]:
        return [q["sql"] for c in self._contexts for q in c.captured_queries]
