"""Per-clinic request budget: one clinic flooding the API gets 429, the others do not notice.

Counts live in the cache: set CACHE_URL to Redis in production so that every worker shares
one count per clinic (the default in-process cache counts per worker).
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class ClinicRateThrottle(SimpleRateThrottle):
    scope = "clinic"

    def get_cache_key(self, request, view):
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return None  # public endpoints have their own scoped throttles
        return self.cache_format % {"scope": self.scope, "ident": tenant.pk}
