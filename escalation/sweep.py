"""The SLA sweep: fire the escalation rules that are due, on due tickets only.

Called every minute by escalation.tasks.run_sweep (Celery beat) and by
`manage.py sla_sweep`. It reads the partial index ticket_next_check_idx and nothing else: a
ticket that has nothing due is never loaded.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.db import bulk_update
from sla.targets import SlaTarget, current_target
from tickets.models import Ticket, TicketEvent
from tickets.services import TicketChange, record

from . import rules as R
from .inserts import insert_events, insert_timeline
from .models import Director, EscalationEvent, Level, Trigger
from .services import ContactBook, new_event, notify_events, timeline_event

log = logging.getLogger(__name__)

# A ticket whose evaluation failed is looked at again this much later, not every minute.
RETRY_AFTER = datetime.timedelta(minutes=5)

# Stored on the event and shown in the API and the portal (the product's records are English).
PERCENT_TEXT = {
    "response": "Response target {percent}% elapsed (due {due})",
    "resolution": "Resolution target {percent}% elapsed (due {due})",
}


@dataclass
class SweepResult:
    batches: int = 0
    tickets: int = 0
    warnings: int = 0
    escalations: int = 0
    breaches: int = 0
    errors: int = 0
    notifications_queued: int = 0
    event_ids: list[int] = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        return {
            "batches": self.batches,
            "tickets": self.tickets,
            "warnings": self.warnings,
            "escalations": self.escalations,
            "breaches": self.breaches,
            "errors": self.errors,
            "notifications_queued": self.notifications_queued,
        }

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.counts().items())


def sweep(
    now: datetime.datetime | None = None,
    batch_size: int = 500,
    *,
    notify: Callable[[list[int]], None] | None = None,
    notices_inline: bool | None = None,
) -> SweepResult:
    """Fire every due escalation, batch by batch, until nothing is due at `now`.

    1. In a transaction, lock up to `batch_size` tickets with next_check_at <= now, oldest
       first, skipping rows another sweep holds (SELECT … FOR UPDATE SKIP LOCKED; SQLite
       ignores the locking and serialises writers instead).
    2. Re-check each ticket under the lock: still active, still due, its current target (the
       SLA engine's), the plan's rules (in-process cache) and the warnings already sent (one
       query for the batch).
    3. Decide every due rule in order: a late sweep fires levels 1, 2, 3 one after the other;
       a warning only before the deadline (after it, the breach and level 1 say more).
    4. Insert the EscalationEvents skipping conflicts (ON CONFLICT DO NOTHING; elsewhere
       bulk_create(ignore_conflicts=True)) — the unique constraints on (ticket, level), and
       on (ticket, phase) for warnings, are what guarantee "once", locks or not; raise
       escalation_level, record the breach time (the due time), append the ticket timeline
       rows (published to the event stream: audit, breach webhooks), compute
       next_check_at, and write all tickets with one UPDATE.
    5. With ``notices_inline`` (default: settings.ESCALATION_NOTICES_INLINE, true), write
       the notices (outbox rows, ticket.escalated webhooks) in the batch's transaction.
       Without it, after commit, queue one notify_events task with the batch's new event
       ids (or hand them to ``notify``, e.g. a benchmark), which writes them: the events are
       committed without notified_at, the durable mark of notices still owed, which
       escalation.services.redrive_notices() (beat, with every sweep) picks up when a task
       is lost. The notices are two thirds of a batch's writes; out of the sweep's
       transaction they no longer hold its locks and a worker writes them alongside the
       next batch (benchmarks compare both).
    A ticket whose evaluation raises is logged and looked at again RETRY_AFTER later.
    """
    now = now or timezone.now()
    notify = notify or queue_notifications
    if notices_inline is None:
        notices_inline = settings.ESCALATION_NOTICES_INLINE
    result = SweepResult()
    director = None
    while True:
        with transaction.atomic():
            tickets = _lock_due(now, batch_size)
            if not tickets:
                break
            director = director or Director.load()
            ids = _process(tickets, now, ContactBook(director), result, notices_inline)
            if ids:
                result.notifications_queued += 1
                transaction.on_commit(partial(notify, ids))
        result.batches += 1
        if len(tickets) < batch_size:
            break
    return result


def queue_notifications(ids: list[int]) -> None:
    """The default ``notify`` of :func:`sweep`: one notify_events task per batch. A task
    that cannot be queued is not lost: its events stay unnotified for the re-drive."""
    try:
        notify_events.delay(ids)
    except Exception:  # noqa: BLE001 - the batch is committed; the re-drive sends its notices
        log.exception("could not queue the notices of %d escalation events", len(ids))


# The ticket's long texts: neither the decision nor its notices read them.
UNREAD = ("description", "search_vector", "user_agent")


def _lock_due(now: datetime.datetime, batch_size: int) -> list[Ticket]:
    """Step 1: lock the due ids (index only, no join: the common "nothing due" case costs one
    small query), then read those rows with their contract, and the people they name."""
    ids = list(
        Ticket.objects.filter(next_check_at__lte=now)
        .order_by("next_check_at", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:batch_size]
    )
    if not ids:
        return []
    return list(
        Ticket.objects.filter(pk__in=ids)
        .defer(*UNREAD)
        .select_related("organization__contract")
        # The people come once per batch, not once per ticket row: a batch names a few
        # staff and contracts many times over.
        .prefetch_related(
            "assignee",
            "reporter",  # the client mail of a level reached (notifications)
            "organization__contract__plan",
            "organization__contract__support_manager",
            "organization__contract__account_manager",
        )
        .order_by("next_check_at", "id")
    )


def _process(
    tickets: list[Ticket],
    now: datetime.datetime,
    contacts: ContactBook,
    result: SweepResult,
    notices_inline: bool = False,
) -> list[int]:
    result.tickets += len(tickets)
    ids = [t.pk for t in tickets]
    warned = set(
        EscalationEvent.objects.filter(ticket_id__in=ids, level=Level.WARNING).values_list(
            "ticket_id", "phase"
        )
    )
    events: list[EscalationEvent] = []
    timeline: list[TicketEvent] = []
    for ticket in tickets:
        try:
            fired = _evaluate(ticket, now, warned, contacts, result, timeline)
        except Exception:  # noqa: BLE001 - one bad ticket must not stop the sweep
            log.exception("escalation sweep failed on ticket %s", ticket.pk)
            result.errors += 1
            ticket.next_check_at = now + RETRY_AFTER
            continue
        events.extend(fired)
        timeline.extend(timeline_event(e) for e in fired)
    new_ids = insert_events(events) if events else []
    if timeline:
        notified = events if notices_inline else []
        record(_changes(tickets, timeline, notified, now), insert=insert_timeline)
    written_at = timezone.now()  # the row's write time, even when sweeping "as of" --now
    for ticket in tickets:
        ticket.updated_at = written_at
    _write_tickets(tickets)
    if new_ids is None:
        # ignore_conflicts leaves pks unset: read back this sweep's rows of these tickets.
        new_ids = list(
            EscalationEvent.objects.filter(
                ticket_id__in=ids, fired_at=now, trigger=Trigger.DEADLINE, notified_at__isnull=True
            ).values_list("id", flat=True)
        )
    return new_ids


def _changes(
    tickets: list[Ticket],
    timeline: list[TicketEvent],
    events: list[EscalationEvent],
    now: datetime.datetime,
) -> list[TicketChange]:
    """The batch's timeline rows as one change per ticket, for services.record(): the audit
    rows, and the escalations really inserted (pk set) whose notices the consumers write
    now (``events``: none unless notices_inline)."""
    by_pk = {t.pk: TicketChange(t, None, "sweep", now) for t in tickets}
    for row in timeline:
        by_pk[row.ticket_id].events.append(row)
    on_pg = connection.vendor == "postgresql"  # elsewhere pks are unknown: all count
    for event in events:
        if not on_pg or event.pk is not None:
            by_pk[event.ticket_id].context.setdefault("escalations", []).append(event)
    return [change for change in by_pk.values() if change.events]


WRITTEN = (
    "escalation_level",
    "response_breached_at",
    "resolution_breached_at",
    "next_check_at",
    "updated_at",
)


def _write_tickets(tickets: list[Ticket]) -> None:
    """Step 4's single write: one UPDATE for the batch (core.db.bulk_update)."""
    bulk_update(Ticket, tickets, WRITTEN)


def _evaluate(
    ticket: Ticket,
    now: datetime.datetime,
    warned: set[tuple[int, str]],
    contacts: ContactBook,
    result: SweepResult,
    timeline: list[TicketEvent],
) -> list[EscalationEvent]:
    """Steps 2–4 for one ticket, on the instance; returns the events to insert."""
    if not _still_due(ticket, now):
        return []
    target = current_target(ticket)
    if target is None:  # no clock runs any more: nothing to check until the ticket changes
        ticket.next_check_at = None
        return []
    phase = target.phase
    decision = R.decide(
        target,
        R.ticket_rules(ticket),
        level=ticket.escalation_level,
        warned=(ticket.pk, phase) in warned,
        breach_recorded=R.breach_recorded(ticket, phase),
        now=now,
    )
    if decision.breach:
        setattr(ticket, f"{phase}_breached_at", target.due)
        result.breaches += 1
        timeline.append(_breach_row(ticket, phase, target.due))
    fired = [_fire(ticket, rule, target, now, contacts, result) for rule in decision.fire]
    ticket.next_check_at = decision.next_check_at
    if ticket.next_check_at is not None and ticket.next_check_at <= now:
        # Cannot happen by construction; if it did, the loop would take the ticket again.
        log.error("ticket %s: next check %s not after %s", ticket.pk, ticket.next_check_at, now)
        ticket.next_check_at = now + RETRY_AFTER
    return fired


def _still_due(ticket: Ticket, now: datetime.datetime) -> bool:
    """Re-checked under the lock: another writer may have resolved or re-planned it."""
    if not ticket.is_active:
        ticket.next_check_at = None
        return False
    return ticket.next_check_at is not None and ticket.next_check_at <= now


def _breach_row(ticket: Ticket, phase: str, due: datetime.datetime) -> TicketEvent:
    return TicketEvent(
        ticket_id=ticket.pk,
        at=due,
        kind=TicketEvent.Kind.SLA,
        action=f"{phase}_breached",
        field=f"{phase}_breached_at",
        new_value=due.isoformat(),
        note=f"{phase.capitalize()} deadline passed.",
        public=True,
    )


def _fire(
    ticket: Ticket,
    rule: R.Rule,
    target: SlaTarget,
    now: datetime.datetime,
    contacts: ContactBook,
    result: SweepResult,
) -> EscalationEvent:
    reason = PERCENT_TEXT[target.phase].format(
        percent=rule.percent, due=target.due.strftime("%Y-%m-%d %H:%M UTC")
    )
    if rule.level:
        ticket.escalation_level = max(ticket.escalation_level, rule.level)
        result.escalations += 1
    else:
        result.warnings += 1
    return new_event(
        ticket,
        level=rule.level,
        phase=target.phase,
        trigger=Trigger.DEADLINE,
        reason=reason,
        at=now,
        contact=contacts.contact(rule.level, ticket),
    )
