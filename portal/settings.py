"""Settings come from the environment (django-environ); every default runs without a server."""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.storage_url import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ESERVICE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# The key this repository once shipped as a default: public, so never accepted without DEBUG.
DEV_SECRET_KEY = "dev-insecure-change-me-" + "x" * 32


def _installation_secret_key() -> str:
    """A random key made once per installation and kept (mode 0600) in the var directory.

    Without SECRET_KEY the site never runs on a key anyone can read in the source; several
    hosts must share one SECRET_KEY, which the deploy check (portal.checks) asks for.
    """
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
SECRET_KEY_GENERATED = not SECRET_KEY
if SECRET_KEY_GENERATED:
    SECRET_KEY = _installation_secret_key()
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    # Spec 8: a public key signs sessions, password-reset links and reply addresses.
    raise ImproperlyConfigured(
        "SECRET_KEY is the public development key. In production set SECRET_KEY to a long "
        "random value (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'), the "
        "same on every host; unset, a random key is kept in ESERVICE_VAR_DIR/secret_key."
    )
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "portal",
    "accounts",
    "tickets",
    "tickets.mail",
    "sla",
    "sla.availability",
    "escalation",
    "webhooks",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sla.availability.middleware.UserLanguageMiddleware",
    "portal.timezones.RegionTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "django.template.context_processors.i18n",
                "portal.context_processors.site",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'eservice.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Reuse connections across requests; a health check replaces one the server closed.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Spec 8: a database that is down or hangs fails a request in seconds (503), never
    # holds it forever. psycopg counts connect_timeout for the whole handshake (2 s minimum).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
    _statement_ms = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
    _options["options"] = (
        f"{_options.get('options', '')} -c statement_timeout={_statement_ms}".strip()
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the worker and beat write while the web process reads.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)

# An optional read replica (portal.replica): reports, statements and the status page's
# availability figures read there; writes, and reads inside a write transaction, stay on
# default.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_READS = bool(DATABASE_REPLICA_URL)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db_url_config(DATABASE_REPLICA_URL),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
    }
DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tickets:list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Serve straight from the app folders too, so a site started without collectstatic is styled.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    # Local files under MEDIA_ROOT, or a shared bucket (portal.storage_url) so that every web
    # and worker host sees every upload.
    "default": storage_from_url(env.str("MEDIA_STORAGE_URL", default="")),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: the portal, API and mail intake all enforce these (tickets.validators).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_ALLOWED_EXTENSIONS = env.list(
    "ATTACHMENT_ALLOWED_EXTENSIONS",
    default=[
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "pdf",
        "txt",
        "log",
        "csv",
        "json",
        "har",
        "zip",
        "gz",
        "eml",
        "docx",
        "xlsx",
        "pptx",
        "odt",
        "ods",
        "mp4",
        "webm",
    ],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Seconds a client waits between two requests on one ticket in the portal (escalate, reopen,
# confirm, rate): a double click or a burst must not page the contacts twice.
CLIENT_ACTION_COOLDOWN_SECONDS = env.int("CLIENT_ACTION_COOLDOWN_SECONDS", default=30)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="eService <support@eservice.localhost>")
SUPPORT_TEAM_EMAIL = env.str("SUPPORT_TEAM_EMAIL", default="support-team@eservice.localhost")
# Empty: the domain of DEFAULT_FROM_EMAIL (tickets.outbound.mail_domain).
SUPPORT_EMAIL_DOMAIN = env.str("SUPPORT_EMAIL_DOMAIN", default="")
# Inbound mail: reopen a resolved ticket on a reply within this many days, else link a new one.
EMAIL_REOPEN_DAYS = env.int("EMAIL_REOPEN_DAYS", default=14)
EMAIL_MAX_MESSAGE_BYTES = env.int("EMAIL_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
# /health/ reports a stored inbound message waiting longer than this (tickets.mail.redrive).
MAIL_BACKLOG_ALERT_SECONDS = env.int("MAIL_BACKLOG_ALERT_SECONDS", default=600)
IMAP_URL = env.str("IMAP_URL", default="")
IMAP_POLL_SECONDS = env.int("IMAP_POLL_SECONDS", default=60)
ANYMAIL = {
    "WEBHOOK_SECRET": env.str("ANYMAIL_WEBHOOK_SECRET", default=""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env.str("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
}
# Inbound webhooks answer only with ANYMAIL_WEBHOOK_SECRET set; this list (anymail's names,
# e.g. "postmark,mailgun") narrows them further. Empty: every service anymail knows.
MAIL_INBOUND_ESPS = env.list("MAIL_INBOUND_ESPS", default=[])
INTAKE_ADDRESSES = {
    "premier": "platinum",
    "support": "standard",
}
# Staff mail about a region's tickets that nobody is assigned to (notifications.fanout).
SUPPORT_QUEUE_EMAILS = {
    region: env.str(f"SUPPORT_QUEUE_EMAIL_{region.replace('-', '_')}", default=SUPPORT_TEAM_EMAIL)
    for region in ("GMT", "US-EST", "US-PST")
}
# Queue the delivery task when a notification's transaction commits; beat re-drives anyway.
NOTIFICATIONS_QUEUE_ON_COMMIT = env.bool("NOTIFICATIONS_QUEUE_ON_COMMIT", default=True)
NOTIFICATIONS_REDRIVE_SECONDS = env.float("NOTIFICATIONS_REDRIVE_SECONDS", default=30)
SUPPORT_PHONE_NUMBERS = {
    "GMT": "+44 20 3000 0000",
    "US-EST": "+1 212 555 0100",
    "US-PST": "+1 415 555 0100",
}

# Outbound webhooks may reach internal addresses only on hosts named here (comma-separated).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_FIRST_RETRY_SECONDS = env.int("WEBHOOK_FIRST_RETRY_SECONDS", default=30)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
WEBHOOK_ENDPOINT_CACHE_SECONDS = env.float("WEBHOOK_ENDPOINT_CACHE_SECONDS", default=5.0)
# A CA bundle for endpoints behind a private CA; empty: the system's trusted CAs.
WEBHOOK_CA_CERTS = env.str("WEBHOOK_CA_CERTS", default="")

REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
# One cache for every process (sign-in and creation throttles count there): Redis when there is
# one, else a database table (created by portal's migration 0001_cache_table), never
# per-process memory.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="eservice")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "eservice_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
if REDIS_URL:
    # Sessions: read from Redis, written through to the database, so a Redis restart or
    # eviction signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: queues are files, so a newcomer needs no server at all.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
    for _folder in ("broker", "broker-processed", "broker-control"):
        (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Redis: dead connections are noticed (keepalive, health checks) and re-made after a
    # restart instead of failing the worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_keepalive": True,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
        "health_check_interval": 10,
    }
    if env.str("CELERY_BROKER_KEY_PREFIX", default=""):
        # Several deployments (or test runs) can share one Redis without reading each
        # other's queues.
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env.str("CELERY_BROKER_KEY_PREFIX")
# Every task is idempotent (each re-checks its rows under a lock, or skips what is done), so a
# task in flight when a worker dies or the broker restarts is delivered again, not lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# The worker outlives broker restarts: it reconnects forever, at start-up too.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # One beat at a time (celery-redbeat): the running beat holds a lock in Redis and renews
    # it on every tick; a standby beat on another host takes over once the lock has not been
    # renewed for BEAT_LOCK_TIMEOUT_SECONDS. The schedule still comes from code
    # (portal.celery.register_beat), options included.
    CELERY_BEAT_SCHEDULER = "portal.beat.Scheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = env.str("CELERY_BROKER_KEY_PREFIX", default="") + "redbeat:"
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT_SECONDS", default=60)
    # A tick at least this often renews the lock well inside its timeout.
    CELERY_BEAT_MAX_LOOP_INTERVAL = min(5, CELERY_REDBEAT_LOCK_TIMEOUT / 3)
CELERY_TIMEZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "30/min"},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "eService API",
    "DESCRIPTION": "Tickets, SLA deadlines, escalations, availability and service credits.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the site's own static files (drf-spectacular-sidecar): /api/docs/ works
    # offline and under the Content-Security-Policy, with no third-party script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Tickets and credits both have a "status"; name each enum rather than let one get a hash.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "CreditStatusEnum": "sla.availability.models.CreditStatus",
    },
}

# Sign-in throttle (accounts.throttle): failures allowed per account and per client address
# within the window, for the token endpoint, portal and admin sign-in; password-reset mails per
# address and per client address within the same window.
SIGNIN_WINDOW_SECONDS = env.int("SIGNIN_WINDOW_SECONDS", default=15 * 60)
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=5)
SIGNIN_FAILURES_PER_ADDRESS = env.int("SIGNIN_FAILURES_PER_ADDRESS", default=20)
PASSWORD_RESETS_PER_ACCOUNT = env.int("PASSWORD_RESETS_PER_ACCOUNT", default=3)
PASSWORD_RESETS_PER_ADDRESS = env.int("PASSWORD_RESETS_PER_ADDRESS", default=10)
# Flood limits on new tickets per hour (tickets.limits): per client user (portal and API), and
# per sender address by mail (over it, the message is quarantined, not lost).
TICKETS_PER_USER_PER_HOUR = env.int("TICKETS_PER_USER_PER_HOUR", default=30)
TICKETS_PER_SENDER_PER_HOUR = env.int("TICKETS_PER_SENDER_PER_HOUR", default=20)
# Off-hours P0 pages per organization: the first pages at once, the next ones within this many
# minutes go out as one digest when the window ends (escalation.paging).
PAGE_COALESCE_MINUTES = env.int("PAGE_COALESCE_MINUTES", default=15)
# Peers whose X-Forwarded-For is believed (addresses or networks, e.g. 10.0.0.0/8); from any
# other peer the header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# API keys (accounts.tokens) expire this long after they are issued.
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24 * 30)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Production behind HTTPS (README, "Production"): `check --deploy` is clean with these set.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# A TLS-terminating proxy that sets X-Forwarded-Proto: https (and strips it from clients).
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# portal.middleware.ContentSecurityPolicyMiddleware sends it; empty: no header.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
