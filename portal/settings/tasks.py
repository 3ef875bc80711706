"""Celery: the broker, task behaviour and the whole beat schedule."""

from .base import REDIS_URL, VAR_DIR, env
from .mail import IMAP_POLL_SECONDS, IMAP_URL, NOTIFICATIONS_REDRIVE_SECONDS

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
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
    # renewed for BEAT_LOCK_TIMEOUT_SECONDS. The schedule still comes from CELERY_BEAT_SCHEDULE
    # below, options included.
    CELERY_BEAT_SCHEDULER = "portal.beat.Scheduler"
    CELERY_REDBEAT_REDIS_URL = env.str("REDBEAT_REDIS_URL", default=CELERY_BROKER_URL)
    CELERY_REDBEAT_KEY_PREFIX = env.str("CELERY_BROKER_KEY_PREFIX", default="") + "redbeat:"
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT_SECONDS", default=60)
    # A tick at least this often renews the lock well inside its timeout.
    CELERY_BEAT_MAX_LOOP_INTERVAL = min(5, CELERY_REDBEAT_LOCK_TIMEOUT / 3)
CELERY_TIMEZONE = "UTC"


def _every(seconds: float, task: str) -> dict:
    # A backlog (beat ran while workers were down) must not replay stale runs: each run
    # expires before the next one is due.
    return {"task": task, "schedule": seconds, "options": {"expires": max(seconds - 1, 1)}}


# The whole beat schedule. Only one beat may run at a time (see CELERY_BEAT_SCHEDULER above).
ESCALATION_SWEEP_SECONDS = env.float("ESCALATION_SWEEP_SECONDS", default=60)
# True (SPEC 7: a notification is recorded in the change's own transaction): the sweep writes
# its escalation notices in the batch's transaction. False: it commits the escalations and a
# worker writes their notices after (re-driven by every sweep:
# escalation.services.redrive_notices), for about twice the sweep's rate where a worker on
# another core takes the notices.
ESCALATION_NOTICES_INLINE = env.bool("ESCALATION_NOTICES_INLINE", default=True)
WEBHOOK_REDRIVE_SECONDS = env.float("WEBHOOK_REDRIVE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE = {
    # escalation: deadline warnings, breaches and escalations; P0 page digests.
    "sla-sweep": _every(ESCALATION_SWEEP_SECONDS, "escalation.tasks.run_sweep"),
    "p0-page-digests": _every(60, "escalation.tasks.send_page_digests"),
    # Outboxes: a broker outage delays mail and webhooks, never loses them. Webhooks every
    # 30 s by default, so a first retry (due 30 s after a failure) leaves within a minute.
    "notifications-redrive": _every(NOTIFICATIONS_REDRIVE_SECONDS, "notifications.tasks.redrive"),
    "webhook-redrive": _every(WEBHOOK_REDRIVE_SECONDS, "webhooks.tasks.redrive"),
    "webhook-prune": _every(3600, "webhooks.tasks.prune"),
    # Inbound mail stored but not yet processed (a worker died, the broker was down).
    "mail-redrive-stored": _every(60, "mail.redrive_stored"),
    # Credits and statements: cheap sweeps that select only what is due, so hourly.
    "availability-expire-credits": _every(3600, "availability.expire_credits"),
    "availability-close-month": _every(3600, "availability.close_previous_month"),
    "availability-statements": _every(3600, "availability.send_statements"),
}
if IMAP_URL:
    CELERY_BEAT_SCHEDULE["mail-poll-imap"] = _every(IMAP_POLL_SECONDS, "mail.poll_imap")
