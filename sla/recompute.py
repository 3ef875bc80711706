"""Recomputation of the stored deadlines of active tickets after a calendar change."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tickets.models import ACTIVE_STATUSES, Ticket, TicketEvent
from tickets.services import TicketChange, record

from .calendar_cache import invalidate_calendars, region_of
from .deadlines import SLA_FIELDS, changed_fields, compute_deadlines, sla_values
from .models import PlanTarget
from .timeline import format_moment

_DEADLINES = ("response_due_at", "resolution_due_at")
Targets = dict[tuple[int, str], PlanTarget]


@dataclass
class RecomputeResult:
    tickets: int = 0
    changed_tickets: int = 0
    changed_deadlines: int = 0


def recompute_active(
    region: str | None = None,
    *,
    now: datetime.datetime | None = None,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> RecomputeResult:
    """Recompute the deadlines of active tickets (of one region), e.g. after a holiday edit.

    1. Fresh calendars: forget the cache, so this process sees the latest overrides.
    2. Walk the ticket ids with ``iterator()``; per batch, lock the rows, recompute, and
       ``bulk_update`` the ones whose SLA fields changed, with one SLA timeline event each.
    3. A changed ticket gets ``next_check_at = now`` so the escalation sweep re-plans it.
    Running it twice changes nothing the second time.
    """
    now = now or timezone.now()
    invalidate_calendars()
    tickets = Ticket.objects.active()
    if region:
        tickets = tickets.filter(organization__contract__region=region)
    total = tickets.count()
    result = RecomputeResult()
    batch: list[int] = []
    for pk in tickets.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=batch_size):
        batch.append(pk)
        if len(batch) >= batch_size:
            _recompute_batch(batch, now, result)
            batch = []
            if progress:
                progress(result.tickets, total)
    if batch:
        _recompute_batch(batch, now, result)
    if progress:
        progress(result.tickets, total)
    return result


@transaction.atomic
def _recompute_batch(pks: Iterable[int], now: datetime.datetime, result: RecomputeResult) -> None:
    rows = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("organization__contract")
        .filter(pk__in=list(pks), status__in=ACTIVE_STATUSES)
    )
    targets = _targets_for(rows)
    changed, events = [], []
    for ticket in rows:
        moved = _recompute_one(ticket, targets, now, result)
        if moved is None:
            continue
        changed.append(ticket)
        if moved:
            events.append(_recomputed_event(ticket, moved, now))
    Ticket.objects.bulk_update(changed, [*SLA_FIELDS, "next_check_at"])
    record([TicketChange(e.ticket, None, "recompute", now, events=[e]) for e in events])


def _recompute_one(
    ticket: Ticket, targets: Targets, now: datetime.datetime, result: RecomputeResult
) -> list[str] | None:
    """Recompute one locked ticket; the deadlines that moved, or None if nothing changed."""
    result.tickets += 1
    before = sla_values(ticket)
    contract = getattr(ticket.organization, "contract", None)
    target = targets.get((contract.plan_id, ticket.priority)) if contract else None
    compute_deadlines(ticket, now=now, target=target)
    if not changed_fields(ticket, before):
        return None
    moved = [n for n in _DEADLINES if getattr(ticket, n) != before[n]]
    result.changed_tickets += 1
    result.changed_deadlines += len(moved)
    if ticket.next_check_at is not None or moved:
        ticket.next_check_at = now
    return moved


def _targets_for(rows: list[Ticket]) -> Targets:
    contracts = (getattr(t.organization, "contract", None) for t in rows)
    plans = {c.plan_id for c in contracts if c is not None}
    found = PlanTarget.objects.select_related("plan").filter(plan_id__in=plans)
    return {(t.plan_id, t.priority): t for t in found}


def _recomputed_event(ticket: Ticket, moved: list[str], now: datetime.datetime) -> TicketEvent:
    region = region_of(ticket)
    parts = [f"{n.split('_')[0]} due {format_moment(getattr(ticket, n), region)}" for n in moved]
    return TicketEvent(
        ticket=ticket,
        at=now,
        kind=TicketEvent.Kind.SLA,
        action="recomputed",
        note="business calendar changed: " + ", ".join(parts),
        public=True,
    )


def count_active(region: str) -> int:
    count: int = Ticket.objects.active().filter(organization__contract__region=region).count()
    return count
