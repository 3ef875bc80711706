"""Django itself: paths, the secret key, apps, middleware, databases, languages, files."""

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from portal.storage_url import storage_from_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
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
    "core.middleware.UserLanguageMiddleware",
    "portal.timezones.RegionTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
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
    # A transaction that reads, then writes, must take the write lock when it begins: SQLite
    # cannot upgrade a read lock while another process writes ("database is locked" at once,
    # the busy timeout notwithstanding) — which the worker and beat of `make run` hit.
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

# An optional read replica (core.replica): reports, statements and the status page's
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
DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UserBackend"]
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


REDIS_URL = env.str("REDIS_URL", default="")
# One cache for every process (sign-in and creation throttles count there): Redis when there is
# one, else a database table (created by portal's migration 0001_cache_table), never
# per-process memory.
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="eservice")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.PrefixedRedisCache",
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
# core.middleware.ContentSecurityPolicyMiddleware sends it; empty: no header.
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
