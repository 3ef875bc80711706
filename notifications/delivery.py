"""Sending the outbox: claim due rows atomically, send a batch over one SMTP connection,
record what happened to each row. A row is sent by one claimer only, so a retried or twin
task never sends a mail twice; a failed row waits with exponential backoff and stays
visible in the admin (Notification, status "failed") with its error."""

import datetime
import logging
from dataclasses import dataclass

from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tickets.models import OutboundMessage

from .models import ALWAYS_SENT, Notification, OptOut, Status
from .render import build, first_mails

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 10  # 1, 2, 4 … 256 minutes apart: about 8.5 hours of retries
CLAIM_FOR = datetime.timedelta(minutes=10)  # a claimer that died is replaced after this


@dataclass
class Result:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=2 ** max(attempts - 1, 0))


def _due(now):
    pending = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    stale = Notification.objects.filter(status=Status.SENDING, claimed_until__lt=now)
    return pending | stale


@transaction.atomic
def claim(ids=None, *, limit=BATCH, now=None) -> list[int]:
    """1. Lock up to `limit` due rows (skipping rows another claimer holds); 2. mark them
    "sending" until now + CLAIM_FOR, counting the attempt. Only the claimer sends them."""
    now = now or timezone.now()
    due = _due(now)
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    locked = list(
        due.order_by("id").select_for_update(skip_locked=True).values_list("id", flat=True)[:limit]
    )
    if locked:
        Notification.objects.filter(pk__in=locked).update(
            status=Status.SENDING, claimed_until=now + CLAIM_FOR, attempts=F("attempts") + 1
        )
    return locked


def deliver(ids=None, *, limit=BATCH) -> Result:
    """Claim and send one batch (the given ids if still due, else whatever is due)."""
    result = Result()
    claimed = claim(ids, limit=limit)
    if not claimed:
        return result
    rows = list(
        Notification.objects.filter(pk__in=claimed)
        .select_related(
            "ticket__organization__contract__plan",
            "comment__author",
            "recipient",
            "credit__organization",
        )
        .prefetch_related("comment__attachments")
        .order_by("id")
    )
    off = _opted_out(rows)
    skipped = [n for n in rows if (n.email.lower(), n.category) in off]
    todo = [n for n in rows if (n.email.lower(), n.category) not in off]
    sent, failed = _send(todo)
    _record(sent, failed, skipped)
    result.sent, result.failed, result.skipped = len(sent), len(failed), len(skipped)
    return result


def deliver_due(*, limit=BATCH, max_batches=1000) -> Result:
    """Beat's re-drive: batches until nothing is due."""
    total = Result()
    for _ in range(max_batches):
        result = deliver(limit=limit)
        total.sent += result.sent
        total.failed += result.failed
        total.skipped += result.skipped
        if result.sent + result.failed + result.skipped < limit:
            break
    return total


def _opted_out(rows) -> set:
    emails = {n.email.lower() for n in rows if n.category not in ALWAYS_SENT}
    if not emails:
        return set()
    found = OptOut.objects.filter(email__in=emails).exclude(category__in=ALWAYS_SENT)
    return set(found.values_list("email", "category"))


def _send(rows) -> tuple[list, list]:
    """Render and send each row over one connection; (sent [(row, mail)], failed [(row,
    error)]). A rendering or SMTP error fails that row only."""
    firsts = first_mails(rows)
    sent, failed = [], []
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:  # noqa: BLE001 - every row of the batch waits and retries
        return [], [(n, f"connection: {exc}") for n in rows]
    try:
        for n in rows:
            try:
                mail = build(n, firsts.get((n.ticket_id, n.email.lower())))
                mail.connection = connection
                mail.send()
            except Exception as exc:  # noqa: BLE001 - recorded on the row, retried later
                log.warning("notification %s not sent: %s", n.pk, exc)
                failed.append((n, str(exc) or exc.__class__.__name__))
            else:
                sent.append((n, mail))
    finally:
        connection.close()
    return sent, failed


def _record(sent, failed, skipped) -> None:
    now = timezone.now()
    with transaction.atomic():
        if sent:
            Notification.objects.filter(pk__in=[n.pk for n, _ in sent]).update(
                status=Status.SENT, sent_at=now, claimed_until=None, last_error=""
            )
            # The record of sent mail the intake threads replies on (In-Reply-To).
            OutboundMessage.objects.bulk_create(
                [_outbound(n, mail, now) for n, mail in sent], ignore_conflicts=True
            )
        if skipped:
            Notification.objects.filter(pk__in=[n.pk for n in skipped]).update(
                status=Status.SKIPPED, claimed_until=None
            )
        for n, error in failed:
            n.status = Status.FAILED if n.attempts >= MAX_ATTEMPTS else Status.PENDING
            n.next_attempt_at = now + backoff(n.attempts)
            n.claimed_until = None
            n.last_error = error[:2000]
        if failed:
            Notification.objects.bulk_update(
                [n for n, _ in failed], ["status", "next_attempt_at", "claimed_until", "last_error"]
            )


def _outbound(n, mail, now) -> OutboundMessage:
    return OutboundMessage(
        ticket_id=n.ticket_id,
        message_id=n.message_id,
        kind=n.kind,
        to=[n.email],
        subject=mail.subject,
        body=mail.body,
        auto_submitted=mail.extra_headers.get("Auto-Submitted", "auto-generated"),
        in_reply_to=mail.extra_headers.get("In-Reply-To", ""),
        sent_at=now,
    )
