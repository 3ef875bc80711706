"""Mail out and in, notifications and outbound webhooks."""

from .base import env

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
# LMTP and inbound webhooks process each message in the request instead of queueing it for
# the workers (tickets.mail.intake); CELERY_TASK_ALWAYS_EAGER does the same.
MAIL_INTAKE_INLINE = env.bool("MAIL_INTAKE_INLINE", default=False)
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
