"""Deadlines stored on each ticket, recomputed on every change (the ticket_changing signal).

Time arithmetic is delegated to the pure :mod:`sla.business_time` (through sla.targets);
this module only reads the cached plan target and calendar of the ticket's region.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any, Literal

from django.utils import timezone

from tickets.models import Status, Ticket, TicketEvent
from tickets.services import TicketChange

from . import business_time as bt
from .calendar_cache import calendar_for_region, plan_target, region_of
from .models import Clock, PlanTarget
from .targets import add_time, time_between
from .timeline import Event, Narrator

# Ticket fields the deadlines depend on: a change touching none of them keeps them as is.
INPUTS = {"priority", "received_at", "first_response_at", "resolved_at", "status", "excluded"}
# Ticket fields this module writes.
SLA_FIELDS = (
    "response_due_at",
    "resolution_due_at",
    "response_breached_at",
    "resolution_breached_at",
    "response_clock",
    "resolution_clock",
    "paused_since",
    "paused_seconds",
)

Deadline = tuple[datetime.datetime | None, str]


class _Unset(enum.Enum):
    UNSET = 0


def sla_values(ticket: Ticket) -> dict[str, Any]:
    """The ticket's SLA fields as they are now, to compare after a recomputation."""
    return {name: getattr(ticket, name) for name in SLA_FIELDS}


def changed_fields(ticket: Ticket, before: dict[str, Any]) -> list[str]:
    return [name for name in SLA_FIELDS if getattr(ticket, name) != before[name]]


def _minutes(value: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=value)


def _response_deadline(
    ticket: Ticket, target: PlanTarget | None, calendar: bt.BusinessCalendar
) -> Deadline:
    if target is None or target.response_minutes is None:
        return None, ""
    start = ticket.received_at
    outside = target.response_outside_hours_minutes
    if outside is not None and not calendar.is_business_time(start):
        clock = target.response_outside_hours_clock
        return add_time(calendar, start, _minutes(outside), clock), clock
    clock = target.response_clock
    return add_time(calendar, start, _minutes(target.response_minutes), clock), clock


def _resolution_deadline(
    ticket: Ticket, target: PlanTarget | None, calendar: bt.BusinessCalendar
) -> Deadline:
    if target is None or target.resolution_minutes is None:
        return None, ""
    clock = target.resolution_clock
    if ticket.first_response_at is None:
        return None, clock
    # A pause pushes the deadline out by the paused time, counted in the target's clock.
    paused = datetime.timedelta(seconds=ticket.paused_seconds)
    duration = _minutes(target.resolution_minutes) + paused
    return add_time(calendar, ticket.first_response_at, duration, clock), clock


def _set_deadlines(
    ticket: Ticket, target: PlanTarget | None, calendar: bt.BusinessCalendar | None
) -> None:
    if calendar is None:  # excluded, or no contract: no clock runs
        response: Deadline = (None, "")
        resolution: Deadline = (None, "")
        ticket.paused_since = None
    else:
        response = _response_deadline(ticket, target, calendar)
        resolution = _resolution_deadline(ticket, target, calendar)
    ticket.response_due_at, ticket.response_clock = response
    ticket.resolution_due_at, ticket.resolution_clock = resolution


def compute_deadlines(
    ticket: Ticket,
    *,
    now: datetime.datetime | None = None,
    previous: dict[str, Any] | None = None,
    target: PlanTarget | None | Literal[_Unset.UNSET] = _Unset.UNSET,
    calendar: bt.BusinessCalendar | None = None,
) -> list[Event]:
    """Set the ticket's SLA fields from its current state; return timeline events.

    Sets ``response_due_at`` (from ``received_at``, the target of the ticket's *current*
    priority; a report received outside business hours gets the outside-hours target, e.g.
    P0: 2 clock hours), ``resolution_due_at`` (from ``first_response_at``, pushed out by
    ``paused_seconds``), their clocks, and the breach fields (the deadline, when the phase
    ended after it, or is still open at ``now``). Excluded tickets, P3 and organizations
    without a contract get no deadlines. Touches no row: the caller saves.

    ``previous`` maps ticket fields the caller has just changed to their old values; it only
    words the events. ``target``/``calendar`` may be passed to avoid lookups (the command
    does). Returns ``[(action, note, params), ...]`` describing what changed.
    """
    now = now or timezone.now()
    before = sla_values(ticket)
    region = region_of(ticket)
    if ticket.excluded or region is None:
        _set_deadlines(ticket, None, None)
    else:
        if target is _Unset.UNSET:
            target = plan_target(ticket)
        _set_deadlines(ticket, target, calendar or calendar_for_region(region))
    ticket.response_breached_at = (
        ticket.response_due_at if ticket.breached("response", now) else None
    )
    ticket.resolution_breached_at = (
        ticket.resolution_due_at if ticket.breached("resolution", now) else None
    )
    return Narrator(ticket, before, previous or {}, region).events()


def on_ticket_changing(sender: object, change: TicketChange, **kwargs: object) -> None:
    """Recompute the deadlines of ``change.ticket`` before tickets saves it.

    1. Skip changes that touch none of the deadlines' inputs (assignment, edits, notes).
    2. Track the optional pause of the resolution clock (plans with ``pause_when_pending``).
    3. Recompute every deadline from the original received/first-response times.
    4. Add the SLA fields that changed to ``change.fields`` and the timeline events.
    """
    ticket = change.ticket
    if ticket.pk is not None and not (change.fields & INPUTS):
        return
    previous = {e.field: e.old_value for e in change.events if e.field}
    before = sla_values(ticket)
    target, calendar = _target_and_calendar(ticket)
    if calendar is not None and track_pause(ticket, target, calendar, change.at):
        previous["paused_since"] = before["paused_since"]
    events = compute_deadlines(
        ticket, now=change.at, previous=previous, target=target, calendar=calendar
    )
    change.fields.update(changed_fields(ticket, before))
    for action, note, params in events:
        # TicketChange.event is not annotated yet (tickets is typed separately).
        change.event(  # type: ignore[no-untyped-call]
            action, note=note, params=params, public=True, kind=TicketEvent.Kind.SLA
        )


def _target_and_calendar(
    ticket: Ticket,
) -> tuple[PlanTarget | None, bt.BusinessCalendar | None]:
    region = region_of(ticket)
    if region is None:
        return None, None
    target = None if ticket.excluded else plan_target(ticket)
    return target, calendar_for_region(region)


def track_pause(
    ticket: Ticket,
    target: PlanTarget | None,
    calendar: bt.BusinessCalendar,
    at: datetime.datetime,
) -> bool:
    """Start or end a pause of the resolution clock; True if the pause state changed."""
    pending = ticket.status == Status.PENDING
    if ticket.paused_since is not None and not pending:
        clock = ticket.resolution_clock or Clock.BUSINESS
        paused = time_between(calendar, ticket.paused_since, at, clock)
        ticket.paused_seconds += max(int(paused.total_seconds()), 0)
        ticket.paused_since = None
        return True
    if pending and ticket.paused_since is None and _pausable(ticket, target):
        ticket.paused_since = at
        return True
    return False


def _pausable(ticket: Ticket, target: PlanTarget | None) -> bool:
    """The plan pauses pending tickets, and the resolution clock is running."""
    return (
        target is not None
        and target.plan.pause_when_pending
        and target.resolution_minutes is not None
        and ticket.first_response_at is not None
        and ticket.resolved_at is None
    )
