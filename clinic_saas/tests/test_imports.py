"""The REST framework settings resolve in any import order (a fresh interpreter each time)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

SETTINGS = ["DEFAULT_PAGINATION_CLASS", "DEFAULT_PARSER_CLASSES", "EXCEPTION_HANDLER"]


@pytest.mark.parametrize("first", SETTINGS)
def test_api_settings_resolve_whichever_is_read_first(first):
    code = (
        "import django; django.setup(); "
        "from rest_framework.settings import api_settings; "
        + "; ".join(f"api_settings.{name}" for name in [first, *SETTINGS])
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "clinic_saas.settings", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
