"""Reads for reports and statements on a read replica, when one is configured.

``DATABASE_REPLICA_URL`` adds the ``replica`` alias; code that only reads a lot (reports,
statements, the status page's availability figures) runs inside ``on_replica``. The router
sends those reads to the replica, never a write, and never a read inside a write transaction
on ``default`` (a replica lags: a transaction must see its own writes).
"""

import contextvars
import functools

from django.conf import settings
from django.db import connections

REPLICA = "replica"
_reading = contextvars.ContextVar("replica_reads", default=False)


def replica_enabled() -> bool:
    return REPLICA in settings.DATABASES and getattr(settings, "DATABASE_REPLICA_READS", False)


def on_replica(func):
    """Run ``func`` with its reads on the replica (when there is one and no write is open).

    The function must evaluate its querysets before it returns: a lazy one escapes the scope.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        token = _reading.set(True)
        try:
            return func(*args, **kwargs)
        finally:
            _reading.reset(token)

    return wrapper


class ReplicaRouter:
    """Reads in an ``on_replica`` scope go to the replica; everything else to ``default``."""

    def db_for_read(self, model, **hints):
        if not _reading.get() or not replica_enabled():
            return None
        if connections["default"].in_atomic_block:
            return None
        return REPLICA

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica copies default's schema; migrations run on default only.
        return db != REPLICA
