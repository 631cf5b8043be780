"""Settings of the HTTP benchmark (bench/http_load.py): the project's own, unchanged, on the
benchmark database, with the bare comparison view added to the URLs.

Everything that shapes a request (middleware, authentication, throttling, transactions,
connection reuse, DEBUG) comes from clinic_saas.settings and the environment exactly as in
production. Only two things differ: every database alias points at `BENCH_DATABASE`, and the
URL configuration is bench.http_urls (the project's URLs plus the bare view).
"""

from __future__ import annotations

import os

from clinic_saas.settings import *  # noqa: F403
from clinic_saas.settings import DATABASES

_bench_database = os.environ.get("BENCH_DATABASE", "")
if _bench_database:
    for _alias in DATABASES.values():
        _alias["NAME"] = _bench_database

ROOT_URLCONF = "bench.http_urls"
