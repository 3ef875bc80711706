"""Outbound webhooks: signed JSON posts to the endpoints staff register (SPEC section 7).

``emit()`` is the one entry point; the notifications fan-out calls it from inside the
transaction that records the domain event, so a delivery exists exactly when the change does.

Who subscribes is cached in each process, because emit() runs on every ticket write and
almost always finds nobody: with a warm cache, an event nobody subscribes to costs no query.
The cache is dropped at once in the process that saves or deletes an endpoint (model
signals, see apps.py) and reloaded by the others after ENDPOINT_CACHE_SECONDS (setting
WEBHOOK_ENDPOINT_CACHE_SECONDS, 5 s by default). We chose a short time-to-live over a version
stamp in the Django cache: the default cache is per process, so a stamp there would not reach
the worker, and a stamp read from Redis or the database would cost a round trip on every
write. The price is that another process starts (or stops) delivering to a changed endpoint
up to that many seconds late; the sender re-reads the endpoint before each POST, so a
deactivated or deleted endpoint is never called.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import payloads
from .models import EVENTS, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from .tasks import schedule

__all__ = ["EVENTS", "emit", "forget_endpoints", "invalidate_endpoints", "record", "retry"]

_lock = threading.Lock()
_batch = threading.local()  # batch(): the deliveries waiting for its one INSERT
# "generation" counts invalidations: a reload that raced one is not kept.
_cache: dict = {"loaded_at": None, "by_event": {}, "generation": 0}


def _ttl() -> float:
    return float(getattr(settings, "WEBHOOK_ENDPOINT_CACHE_SECONDS", 5))


def invalidate_endpoints(**_kwargs) -> None:
    """Forget the subscriber lists: now, and again when the change commits (a reload inside the
    changing transaction would otherwise keep what other transactions cannot see yet)."""
    forget_endpoints()
    transaction.on_commit(forget_endpoints)


def forget_endpoints() -> None:
    """Drop the cached subscriber lists (no database access: tests call it between tests)."""
    with _lock:
        _cache["loaded_at"] = None
        _cache["generation"] += 1


def subscribers(event: str) -> list[int]:
    """Ids of the active endpoints subscribed to ``event``; one query per reload at most."""
    loaded_at = _cache["loaded_at"]
    if loaded_at is None or time.monotonic() - loaded_at > _ttl():
        generation = _cache["generation"]
        by_event: dict[str, list[int]] = {}
        rows = WebhookEndpoint.objects.filter(active=True).values_list("pk", "events")
        for pk, events in rows:
            for name in events or ():
                by_event.setdefault(name, []).append(pk)
        with _lock:
            if _cache["generation"] == generation:
                _cache.update(by_event=by_event, loaded_at=time.monotonic())
        return by_event.get(event, [])
    return _cache["by_event"].get(event, [])


def emit(event: str, *, ticket=None, comment=None, credit=None, changes=None, at=None) -> list:
    """Record one delivery per active endpoint subscribed to ``event`` (outbox rows written in
    the caller's transaction, one INSERT) and schedule their sending after commit. Inside
    batch(), the rows wait for the batch's single INSERT instead.

    ``changes``: for ticket.updated, the fields that changed as {name: (old, new)}.
    ``comment`` must be public: an internal note raises ValueError and nothing is recorded.
    Pass the ticket with its organization, reporter and assignee loaded (the services do), or
    building the payload costs a query for each.
    """
    deliveries = _deliveries(
        event, ticket=ticket, comment=comment, credit=credit, changes=changes, at=at
    )
    if deliveries and getattr(_batch, "rows", None) is not None:
        _batch.rows += deliveries
    elif deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        schedule([d.pk for d in deliveries])
    return deliveries


@contextmanager
def batch():
    """Every emit() inside writes its deliveries with the others in one INSERT, queued as one
    task: the notifications consumer wraps a whole batch of changes (a sweep, a mail batch)."""
    if getattr(_batch, "rows", None) is not None:
        yield  # already collecting: the outer batch writes
        return
    _batch.rows = []
    try:
        yield
        rows = _batch.rows
    finally:
        _batch.rows = None
    if rows:
        WebhookDelivery.objects.bulk_create(rows)
        schedule([d.pk for d in rows])


def record(event: str, *, ticket=None, comment=None, credit=None, changes=None, at=None):
    """emit() without the after-commit task: the rows the beat re-drive would find."""
    deliveries = _deliveries(
        event, ticket=ticket, comment=comment, credit=credit, changes=changes, at=at
    )
    return WebhookDelivery.objects.bulk_create(deliveries) if deliveries else []


def _deliveries(event, *, ticket, comment, credit, changes, at) -> list[WebhookDelivery]:
    """The unsaved deliveries of one event, one per subscribed endpoint (ids set: UUIDs)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if comment is not None and comment.internal:
        raise ValueError("internal notes never leave by webhook")
    endpoint_ids = subscribers(event)
    if not endpoint_ids:
        return []
    now = timezone.now()
    payload = payloads.build(
        event, at or now, ticket=ticket, comment=comment, credit=credit, changes=changes
    )
    return [
        WebhookDelivery(
            endpoint_id=pk, event=event, payload=payload, created_at=now, next_attempt_at=now
        )
        for pk in endpoint_ids
    ]


def retry(deliveries) -> int:
    """Staff's retry: owed again now, whatever state they were in (a sent one is left)."""
    ids = [d.pk for d in deliveries if d.status != DeliveryStatus.SENT]
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    schedule(ids)
    return len(ids)
