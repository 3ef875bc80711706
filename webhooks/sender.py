"""Sending what emit() recorded: claim due deliveries, POST them, record every attempt.

HTTP goes through urllib3 (already installed with requests and django-anymail): it lets us
open the connection to an address we resolved and checked ourselves while keeping the URL's
host for the Host header, TLS SNI and certificate check, which the guard needs against DNS
rebinding; and its connection pools keep connections to an endpoint alive across a batch.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.db import bulk_update

from . import guard, payloads
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

# A claimed delivery is not due again until its lease runs out: no other worker sends it
# meanwhile, and if this worker dies mid-send, the beat re-drive picks it up afterwards. The
# lease covers the worst case of the batch (every POST timing out) plus this margin.
LEASE_MARGIN_SECONDS = 30
# The beat re-drive's batch: with 8 concurrent posts, 8 rounds of time-outs at most (~64 s).
REDRIVE_BATCH = 64
RETRY_WINDOW = datetime.timedelta(hours=24)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 4 * 3600
MAX_RESPONSE_BYTES = 64 * 1024
MAX_POOLS = 256


def backoff(attempts: int) -> datetime.timedelta:
    """30 s after the first failure (WEBHOOK_FIRST_RETRY_SECONDS), doubling, at most 4 h."""
    first = getattr(settings, "WEBHOOK_FIRST_RETRY_SECONDS", FIRST_RETRY_SECONDS)
    return datetime.timedelta(seconds=min(first * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


def _timeout() -> urllib3.Timeout:
    return urllib3.Timeout(
        connect=getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 3.0),
        read=getattr(settings, "WEBHOOK_READ_TIMEOUT", 5.0),
        total=_total_timeout(),
    )


def _total_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TOTAL_TIMEOUT", 8.0))


def _concurrency() -> int:
    return int(getattr(settings, "WEBHOOK_CONCURRENCY", 8))


_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


def _pool(target: guard.Target) -> urllib3.HTTPConnectionPool:
    """One keep-alive pool per (checked address, host), shared by the threads of a process."""
    key = (target.scheme, target.address, target.port, target.host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            if len(_pools) >= MAX_POOLS:
                for old in _pools.values():
                    old.close()
                _pools.clear()
            pool = _new_pool(target)
            _pools[key] = pool
    return pool


def _new_pool(target: guard.Target) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        # Connected to the checked address, verified against the URL's host name.
        return urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=getattr(settings, "WEBHOOK_CA_CERTS", "") or None,
            maxsize=_concurrency(),
            retries=False,
        )
    return urllib3.HTTPConnectionPool(
        target.address, target.port, maxsize=_concurrency(), retries=False
    )


@dataclass
class Outcome:
    at: datetime.datetime
    status_code: int | None = None
    error: str = ""
    latency_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(delivery: WebhookDelivery, endpoint: WebhookEndpoint, resolved=None) -> Outcome:
    """One POST; never raises. The address is checked again here (DNS rebinding)."""
    outcome = Outcome(at=timezone.now())
    started = time.perf_counter()
    try:
        target = guard.resolve(endpoint.url, resolved=resolved)
        raw = payloads.body(delivery.pk, delivery.payload, endpoint.format)
        headers = payloads.headers(delivery.pk, delivery.event, endpoint.secret, raw)
        headers["Host"] = target.host_header
        response = _pool(target).urlopen(
            "POST",
            target.path,
            body=raw,
            headers=headers,
            timeout=_timeout(),
            redirect=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            response.read(MAX_RESPONSE_BYTES)
            outcome.status_code = response.status
        finally:
            if response.length_remaining:  # a longer answer than we read: not reusable
                response.close()
            response.release_conn()
        if not outcome.ok:
            outcome.error = f"HTTP {response.status}"
    except guard.Refused as exc:
        outcome.error = f"refused: {exc}"
    except urllib3.exceptions.TimeoutError:
        outcome.error = "time-out"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"[:500]
    except Exception as exc:  # recorded on the row and retried, never a stuck batch
        log.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        outcome.error = f"{type(exc).__name__}: {exc}"[:500]
    outcome.latency_ms = int((time.perf_counter() - started) * 1000)
    return outcome


def claim(ids=None, *, limit: int = 200, now=None) -> list[WebhookDelivery]:
    """Lock the due pending deliveries (skipping those another worker holds), lease them,
    and commit: the POSTs then happen outside any transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        rows = list(qs.order_by("next_attempt_at").select_for_update(skip_locked=True)[:limit])
        if rows:
            WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
                next_attempt_at=now + lease(len(rows))
            )
    return rows


def lease(count: int) -> datetime.timedelta:
    rounds = -(-count // _concurrency())
    return datetime.timedelta(seconds=_total_timeout() * rounds + LEASE_MARGIN_SECONDS)


def deliver(ids=None, *, limit: int = 200) -> int:
    """Send what is due (of ``ids``, or any): claim, post concurrently, record. Returns the
    number of deliveries attempted or settled."""
    rows = claim(ids, limit=limit)
    if not rows:
        return 0
    endpoints = WebhookEndpoint.objects.in_bulk({r.endpoint_id for r in rows})
    live = {pk for pk, endpoint in endpoints.items() if endpoint.active}
    sendable = [r for r in rows if r.endpoint_id in live]
    _drop([r for r in rows if r.endpoint_id not in live], endpoints)
    resolved: dict = {}
    workers = min(_concurrency(), len(sendable)) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda d: post(d, endpoints[d.endpoint_id], resolved), sendable))
    record(sendable, outcomes)
    return len(rows)


def _drop(rows, endpoints) -> None:
    """Deliveries whose endpoint was deleted or switched off since the event: not sent."""
    for row in rows:
        row.status = DeliveryStatus.FAILED
        row.next_attempt_at = None
        row.last_error = "endpoint inactive" if row.endpoint_id in endpoints else "endpoint deleted"
    if rows:
        bulk_update(WebhookDelivery, rows, ["status", "next_attempt_at", "last_error"])


def _settle(row: WebhookDelivery, outcome: Outcome) -> None:
    row.attempts += 1
    row.last_status_code = outcome.status_code
    row.last_error = outcome.error
    if outcome.ok:
        row.status, row.sent_at, row.next_attempt_at = DeliveryStatus.SENT, outcome.at, None
    elif outcome.at - row.created_at >= RETRY_WINDOW:
        row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        row.next_attempt_at = outcome.at + backoff(row.attempts)


def record(rows: list[WebhookDelivery], outcomes: list[Outcome]) -> None:
    """Write the outcomes: the deliveries in one UPDATE, the attempt log in one INSERT, and
    the endpoints' failing state (set when a delivery gives up, cleared by a success)."""
    for row, outcome in zip(rows, outcomes, strict=True):
        _settle(row, outcome)
    fields = ["status", "attempts", "next_attempt_at", "last_status_code", "last_error", "sent_at"]
    now = timezone.now()
    with transaction.atomic():
        bulk_update(WebhookDelivery, rows, fields)
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=row,
                at=o.at,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                error=o.error,
            )
            for row, o in zip(rows, outcomes, strict=True)
        )
        healthy = {r.endpoint_id for r in rows if r.status == DeliveryStatus.SENT}
        failing = {r.endpoint_id for r in rows if r.status == DeliveryStatus.FAILED} - healthy
        WebhookEndpoint.objects.filter(pk__in=healthy, failing_since__isnull=False).update(
            failing_since=None
        )
        WebhookEndpoint.objects.filter(pk__in=failing, failing_since__isnull=True).update(
            failing_since=now
        )


def redrive(*, limit: int = REDRIVE_BATCH, budget_seconds: float = 50.0) -> int:
    """The beat job: send every due delivery, batch after batch, within a time budget."""
    started, total = time.monotonic(), 0
    while time.monotonic() - started < budget_seconds:
        done = deliver(limit=limit)
        total += done
        if done < limit:
            break
    return total


def prune(*, days: int | None = None, now=None) -> int:
    """Forget settled deliveries (and their attempt log) older than the retention period
    (WEBHOOK_RETENTION_DAYS, 30 by default); what is still owed is always kept."""
    days = days if days is not None else getattr(settings, "WEBHOOK_RETENTION_DAYS", 30)
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    old = WebhookDelivery.objects.filter(
        status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED], created_at__lt=cutoff
    )
    deleted, _ = old.delete()
    return deleted
