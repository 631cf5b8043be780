"""ASGI entry point."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_saas.settings")

application = get_asgi_application()

from tenants.checks import assert_runtime_role_safe  # noqa: E402
from tenants.pooling import assert_pooling_safe  # noqa: E402

assert_runtime_role_safe()
# Refuse settings that would break the per-transaction context behind a pooler.
assert_pooling_safe()
