"""The REST API, its schema, and the limits on sign-in, tokens and ticket floods."""

from .base import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
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
