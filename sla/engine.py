"""The SLA engine: deadlines stored on each ticket, recomputed on every change.

Public API (used by tickets through the ``ticket_changing`` signal, by escalation, by the
portal, the admin and the ``recompute_deadlines`` command):

- :func:`calendar_for_region` -- the business calendar of a support region;
- :func:`compute_deadlines` -- set the SLA fields of a ticket instance;
- :func:`current_target` -- the running SLA clock of a ticket, if any;
- :func:`elapsed_moment` -- when a fraction of the running target has elapsed;
- :func:`recompute_active` -- recompute stored deadlines after a calendar change.

Time arithmetic is delegated to the pure :mod:`sla.business_time`; this module only reads
the database for a ticket's plan target and (rarely) a region's calendar overrides.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from accounts.models import Plan
from tickets.models import ACTIVE_STATUSES, Status, Ticket, TicketEvent
from tickets.services import TicketChange, record

from . import business_time as bt
from .calendars import REGIONS, region_calendar
from .models import BusinessCalendar, CalendarDay, Clock, PlanTarget

__all__ = [
    "SlaTarget",
    "calendar_for_region",
    "compute_deadlines",
    "current_target",
    "elapsed_moment",
    "invalidate_calendars",
    "invalidate_targets",
    "recompute_active",
]

# Ticket fields the deadlines depend on: a change touching none of them keeps them as is.
_INPUTS = {"priority", "received_at", "first_response_at", "resolved_at", "status", "excluded"}
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


# --------------------------------------------------------------------------
# Calendars
# --------------------------------------------------------------------------


@dataclass
class _CachedCalendar:
    calendar: bt.BusinessCalendar
    version: int | None
    checked: float


_CALENDARS: dict[str, _CachedCalendar] = {}
_CALENDARS_LOCK = threading.Lock()


def _check_seconds() -> float:
    # How stale another process's calendar edit may be here; this process invalidates at once.
    return getattr(settings, "SLA_CALENDAR_CHECK_SECONDS", 30)


def calendar_for_region(region: str) -> bt.BusinessCalendar:
    """The business calendar of ``region``: ``holidays`` package plus the staff's CalendarDays.

    Cached in-process. The region's ``BusinessCalendar.version`` is re-read at most once every
    ``SLA_CALENDAR_CHECK_SECONDS`` (30 s) so edits made by another process are picked up;
    edits made by this process invalidate the cache immediately. Raises ``ValueError`` for an
    unknown region.
    """
    if region not in REGIONS:
        raise ValueError(f"unknown support region {region!r}")
    entry = _CALENDARS.get(region)
    now = time.monotonic()
    if entry is not None and now - entry.checked < _check_seconds():
        return entry.calendar
    version = (
        BusinessCalendar.objects.filter(region=region).values_list("version", flat=True).first()
    )
    if entry is None or entry.version != version:
        entry = _CachedCalendar(_load_calendar(region, version), version, now)
    entry.checked = now
    with _CALENDARS_LOCK:
        _CALENDARS[region] = entry
    return entry.calendar


def _load_calendar(region: str, version: int | None) -> bt.BusinessCalendar:
    days = []
    if version is not None:
        days = CalendarDay.objects.filter(calendar__region=region).values_list("date", "kind")
    closed = [d for d, kind in days if kind == CalendarDay.Kind.CLOSED]
    opened = [d for d, kind in days if kind == CalendarDay.Kind.OPEN]
    return region_calendar(region, extra_closed=closed, extra_open=opened)


def invalidate_calendars(region: str | None = None) -> None:
    """Forget cached calendars (all, or one region's); the next lookup reloads them."""
    with _CALENDARS_LOCK:
        if region is None:
            _CALENDARS.clear()
        else:
            _CALENDARS.pop(region, None)


def _calendar_day_changed(sender, instance, **kwargs):
    calendar = BusinessCalendar.objects.filter(pk=instance.calendar_id).first()
    if calendar is None:  # the calendar itself is being deleted
        invalidate_calendars()
        return
    calendar.bump_version()
    invalidate_calendars(calendar.region)


def connect_calendar_signals() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_calendar_day_changed, sender=CalendarDay, dispatch_uid="sla.calendar_day")
        signal.connect(invalidate_targets, sender=PlanTarget, dispatch_uid="sla.plan_target")
        signal.connect(invalidate_targets, sender=Plan, dispatch_uid="sla.plan")


# --------------------------------------------------------------------------
# Targets and deadlines
# --------------------------------------------------------------------------


def _region(ticket: Ticket) -> str | None:
    organization = getattr(ticket, "organization", None)
    return organization.region if organization is not None else None


_TARGETS: dict[tuple[int, str], tuple[PlanTarget | None, float]] = {}


def _plan_target(ticket: Ticket) -> PlanTarget | None:
    """The target of the ticket's plan and priority, cached in-process like the calendars.

    Opening a ticket reads it every time, so the cache saves a query on the API's hottest
    path; edits in this process clear it at once, other processes see them within
    ``SLA_CALENDAR_CHECK_SECONDS``.
    """
    contract = getattr(ticket.organization, "contract", None)
    if contract is None:
        return None
    key = (contract.plan_id, ticket.priority)
    now = time.monotonic()
    cached = _TARGETS.get(key)
    if cached is not None and now - cached[1] < _check_seconds():
        return cached[0]
    target = PlanTarget.objects.select_related("plan").filter(plan_id=key[0], priority=key[1])
    _TARGETS[key] = (target.first(), now)
    return _TARGETS[key][0]


def invalidate_targets(*args, **kwargs) -> None:
    _TARGETS.clear()


def _add(calendar, start, duration: datetime.timedelta, clock: str) -> datetime.datetime:
    if clock == Clock.BUSINESS:
        return bt.add_business_time(calendar, start, duration)
    # In UTC: aware arithmetic within one zone would add wall-clock time across a DST change.
    return start.astimezone(datetime.UTC) + duration


def _between(calendar, start, end, clock: str) -> datetime.timedelta:
    if clock == Clock.BUSINESS:
        return bt.business_time_between(calendar, start, end)
    return end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC)


def _minutes(value: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=value)


def _response_deadline(ticket, target, calendar) -> tuple[datetime.datetime | None, str]:
    if target is None or target.response_minutes is None:
        return None, ""
    start = ticket.received_at
    if target.response_outside_hours_minutes is not None and not calendar.is_business_time(start):
        clock = target.response_outside_hours_clock
        return _add(calendar, start, _minutes(target.response_outside_hours_minutes), clock), clock
    clock = target.response_clock
    return _add(calendar, start, _minutes(target.response_minutes), clock), clock


def _resolution_deadline(ticket, target, calendar) -> tuple[datetime.datetime | None, str]:
    if target is None or target.resolution_minutes is None:
        return None, ""
    clock = target.resolution_clock
    if ticket.first_response_at is None:
        return None, clock
    # A pause pushes the deadline out by the paused time, counted in the target's clock.
    duration = _minutes(target.resolution_minutes) + datetime.timedelta(
        seconds=ticket.paused_seconds
    )
    return _add(calendar, ticket.first_response_at, duration, clock), clock


_UNSET = object()


def compute_deadlines(
    ticket: Ticket,
    *,
    now: datetime.datetime | None = None,
    previous: dict | None = None,
    target=_UNSET,
    calendar: bt.BusinessCalendar | None = None,
) -> list[tuple[str, str]]:
    """Set the ticket's SLA fields from its current state; return timeline events.

    Sets ``response_due_at`` (from ``received_at``, the target of the ticket's *current*
    priority; a report received outside business hours gets the outside-hours target, e.g.
    P0: 2 clock hours), ``resolution_due_at`` (from ``first_response_at``, pushed out by
    ``paused_seconds``), their clocks, and the breach fields (the deadline, when the phase
    ended after it, or is still open at ``now``). Excluded tickets, P3 and organizations
    without a contract get no deadlines. Touches no row: the caller saves.

    ``previous`` maps ticket fields the caller has just changed to their old values; it only
    words the events. ``target``/``calendar`` may be passed to avoid lookups (the command
    does). Returns ``[(action, note), ...]`` describing what changed, for the SLA timeline.
    """
    now = now or timezone.now()
    previous = previous or {}
    before = {name: getattr(ticket, name) for name in SLA_FIELDS}
    region = _region(ticket)
    if ticket.excluded or region is None:
        target, calendar = None, None
    else:
        calendar = calendar or calendar_for_region(region)
        if target is _UNSET:
            target = _plan_target(ticket)
    if calendar is None:
        response, response_clock = None, ""
        resolution, resolution_clock = None, ""
        ticket.paused_since = None
    else:
        response, response_clock = _response_deadline(ticket, target, calendar)
        resolution, resolution_clock = _resolution_deadline(ticket, target, calendar)
    ticket.response_due_at, ticket.response_clock = response, response_clock
    ticket.resolution_due_at, ticket.resolution_clock = resolution, resolution_clock
    ticket.response_breached_at = response if ticket.breached("response", now) else None
    ticket.resolution_breached_at = resolution if ticket.breached("resolution", now) else None
    return _Narrator(ticket, before, previous, region).events()


class _Narrator:
    """Words the SLA timeline events of one recomputation (public: clients see them)."""

    def __init__(self, ticket, before, previous, region):
        self.ticket, self.before, self.previous, self.region = ticket, before, previous, region
        self.out: list[tuple[str, str, dict]] = []

    def say(self, action: str, note: str, **params) -> None:
        """One event: the English note for the staff trail, and the parameters from which
        tickets.event_text words it in the reader's language (datetimes as ISO text)."""
        values = {"v": 1}  # never empty: tells a worded row from one before params
        for key, value in params.items():
            if value is not None:
                values[key] = value.isoformat() if isinstance(value, datetime.datetime) else value
        self.out.append((action, note, values))

    def due_params(self) -> dict:
        t = self.ticket
        return {
            "response_due": t.response_due_at,
            "resolution_due": t.resolution_due_at,
            "priority": t.priority,
        }

    def changed(self, name) -> bool:
        return self.before[name] != getattr(self.ticket, name)

    def when(self, value) -> str:
        return format_moment(value, self.region)

    def events(self) -> list[tuple[str, str, dict]]:
        t, prev = self.ticket, self.previous
        if t.excluded:
            if "excluded" in prev:
                self.say("excluded", f"excluded from SLA: {t.exclusion_reason}")
            return self.out
        if t.pk is None:
            self._opened()
        elif "excluded" in prev:
            self.say("included", "SLA applies again: " + self._deadlines(), **self.due_params())
        elif "priority" in prev and prev["priority"] != t.priority:
            note = f"re-classified {prev['priority']} → {t.priority}: {self._deadlines()}"
            self.say("reclassified", note, old_priority=prev["priority"], **self.due_params())
        else:
            self._progress()
        self._breaches()
        return self.out

    def _deadlines(self) -> str:
        t = self.ticket
        parts = []
        if t.response_due_at:
            parts.append(f"response due {self.when(t.response_due_at)}")
        if t.resolution_due_at:
            parts.append(f"resolution due {self.when(t.resolution_due_at)}")
        return ", ".join(parts) or f"no SLA target ({t.priority})"

    def _opened(self):
        t = self.ticket
        if t.response_due_at is None:
            self.say("no_target", f"no SLA target ({t.priority})", priority=t.priority)
        elif t.response_clock == Clock.CLOCK:
            hours = _hours_text(t.response_due_at - t.received_at)
            note = f"received outside business hours: {hours}, response due "
            hours = (t.response_due_at - t.received_at).total_seconds() / 3600
            self.say(
                "outside_hours",
                note + self.when(t.response_due_at),
                hours=hours,
                response_due=t.response_due_at,
            )
        else:
            note = f"clock started (business hours, region {self.region}), response due "
            self.say(
                "clock_started",
                note + self.when(t.response_due_at),
                region=self.region,
                response_due=t.response_due_at,
            )

    def _progress(self):
        t, prev = self.ticket, self.previous
        if "first_response_at" in prev and t.first_response_at:
            note = f"first response at {self.when(t.first_response_at)}"
            if t.resolution_due_at:
                note += f"; resolution clock started, due {self.when(t.resolution_due_at)}"
            self.say(
                "first_response",
                note,
                at=t.first_response_at,
                resolution_due=t.resolution_due_at,
            )
        if "paused_since" in prev:
            self._pause()
        elif self.changed("response_due_at") and t.response_due_at:
            note = f"response due {self.when(t.response_due_at)}"
            self.say("due_changed", note, response_due=t.response_due_at)
        elif self.changed("resolution_due_at") and self.before["resolution_due_at"]:
            note = f"resolution due {self.when(t.resolution_due_at)}"
            self.say("due_changed", note, resolution_due=t.resolution_due_at)
        if "resolved_at" in prev:
            self._resolved()

    def _pause(self):
        t = self.ticket
        if t.paused_since:
            self.say("paused", "resolution clock paused (pending customer)")
            return
        note = "resolution clock resumed"
        if t.resolution_due_at:
            note += f", resolution due {self.when(t.resolution_due_at)}"
        self.say("resumed", note, resolution_due=t.resolution_due_at)

    def _resolved(self):
        t = self.ticket
        if t.resolved_at is None:
            if t.resolution_due_at:
                note = f"reopened: resolution due {self.when(t.resolution_due_at)}"
                self.say("reopened", note, resolution_due=t.resolution_due_at)
            return
        due = t.resolution_due_at
        if due is None:
            return
        if t.resolved_at <= due:
            self.say("resolved", "resolved within target", late_minutes=0)
        else:
            late = format_duration(t.resolved_at - due)
            minutes = int((t.resolved_at - due).total_seconds() // 60)
            note = f"resolved {late} late (due {self.when(due)})"
            self.say("resolved", note, late_minutes=minutes, resolution_due=due)

    def _breaches(self):
        t = self.ticket
        for phase in ("response", "resolution"):
            name = f"{phase}_breached_at"
            if getattr(t, name) and not self.before[name]:
                due = getattr(t, f"{phase}_due_at")
                note = f"{phase} breached (due {self.when(due)})"
                self.say(f"{phase}_breached", note, due=due)


def _hours_text(duration: datetime.timedelta) -> str:
    hours = duration.total_seconds() / 3600
    return f"{hours:g} clock hour{'s' if hours != 1 else ''}"


def format_moment(value: datetime.datetime | None, region: str | None) -> str:
    """A deadline as the region's staff and client read it: ``Mon 2 Mar 2026 11:00 GMT``."""
    if value is None:
        return "—"
    tz = REGIONS[region][0] if region in REGIONS else "UTC"
    local = value.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def format_duration(duration: datetime.timedelta, *, business: bool = False) -> str:
    """``2 h 10 min``, ``45 min``, ``3 days 4 h``; business days are 9 business hours."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "less than 1 min"
    days, rest = divmod(minutes, (9 if business else 24) * 60)
    hours, mins = divmod(rest, 60)
    if days:
        unit = "business day" if business else "day"
        text = f"{days} {unit}{'s' if days != 1 else ''}"
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


# --------------------------------------------------------------------------
# The ticket_changing receiver
# --------------------------------------------------------------------------


def on_ticket_changing(sender, change, **kwargs) -> None:
    """Recompute the deadlines of ``change.ticket`` before tickets saves it.

    1. Skip changes that touch none of the deadlines' inputs (assignment, edits, notes).
    2. Track the optional pause of the resolution clock (plans with ``pause_when_pending``).
    3. Recompute every deadline from the original received/first-response times.
    4. Add the SLA fields that changed to ``change.fields`` and the timeline events.
    """
    ticket = change.ticket
    if ticket.pk is not None and not (change.fields & _INPUTS):
        return
    previous = {e.field: e.old_value for e in change.events if e.field}
    before = {name: getattr(ticket, name) for name in SLA_FIELDS}
    region = _region(ticket)
    target = _plan_target(ticket) if region and not ticket.excluded else None
    calendar = calendar_for_region(region) if region else None
    if calendar is not None and _track_pause(ticket, target, calendar, change.at):
        previous["paused_since"] = before["paused_since"]
    events = compute_deadlines(
        ticket, now=change.at, previous=previous, target=target, calendar=calendar
    )
    change.fields.update(n for n in SLA_FIELDS if getattr(ticket, n) != before[n])
    for action, note, params in events:
        change.event(action, note=note, params=params, public=True, kind=TicketEvent.Kind.SLA)


def _track_pause(ticket, target, calendar, at) -> bool:
    """Start or end a pause of the resolution clock; True if the pause state changed."""
    pending = ticket.status == Status.PENDING
    if ticket.paused_since is not None and not pending:
        clock = ticket.resolution_clock or Clock.BUSINESS
        paused = _between(calendar, ticket.paused_since, at, clock)
        ticket.paused_seconds += max(int(paused.total_seconds()), 0)
        ticket.paused_since = None
        return True
    pausable = (
        pending
        and ticket.paused_since is None
        and target is not None
        and target.plan.pause_when_pending
        and target.resolution_minutes is not None
        and ticket.first_response_at is not None
        and ticket.resolved_at is None
    )
    if pausable:
        ticket.paused_since = at
    return pausable


# --------------------------------------------------------------------------
# The running clock, for escalation and display
# --------------------------------------------------------------------------


class SlaTarget(NamedTuple):
    phase: str  # "response" | "resolution"
    start: datetime.datetime
    due: datetime.datetime
    clock: str  # Clock.BUSINESS | Clock.CLOCK
    calendar: bt.BusinessCalendar


def current_target(ticket: Ticket) -> SlaTarget | None:
    """The SLA clock running now: ``(phase, start, due, clock, calendar)``, or None.

    The response target until the first response, then the resolution target. None when no
    clock runs: excluded, resolved or closed, no target (P3, no contract), or paused. Reads
    only the stored fields (and the cached calendar): no query per ticket when the ticket was
    fetched with ``select_related("organization__contract")``.
    """
    if ticket.excluded or ticket.status not in ACTIVE_STATUSES or ticket.paused_since:
        return None
    if ticket.first_response_at is None:
        phase, start, due, clock = (
            "response",
            ticket.received_at,
            ticket.response_due_at,
            ticket.response_clock,
        )
    else:
        phase, start, due, clock = (
            "resolution",
            ticket.first_response_at,
            ticket.resolution_due_at,
            ticket.resolution_clock,
        )
    region = _region(ticket)
    if due is None or region is None:
        return None
    return SlaTarget(phase, start, due, clock or Clock.BUSINESS, calendar_for_region(region))


def elapsed_moment(ticket: Ticket, fraction: float) -> datetime.datetime | None:
    """The moment ``fraction`` of the running target's time has elapsed, in its own clock.

    E.g. 0.75 (warning), 1.0 (the deadline itself, exactly the stored due time), 1.5, 2.0
    (escalation levels). Business targets count business time from the phase start; clock
    targets wall time. Time paused (pending customer) is not part of the target's duration:
    it shifts every moment, as it shifted the deadline. None when no clock runs (see
    :func:`current_target`).
    """
    target = current_target(ticket)
    if target is None:
        return None
    total = _between(target.calendar, target.start, target.due, target.clock)
    paused_seconds = ticket.paused_seconds if target.phase == "resolution" else 0
    paused = datetime.timedelta(seconds=paused_seconds)
    duration = max(total - paused, datetime.timedelta(0))
    if fraction == 1:
        return target.due
    return _add(target.calendar, target.start, duration * fraction + paused, target.clock)


# --------------------------------------------------------------------------
# Recomputation after a calendar change
# --------------------------------------------------------------------------


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


_TARGET_CACHE_TYPE = dict[tuple[int, str], PlanTarget | None]
_DEADLINES = ("response_due_at", "resolution_due_at")


@transaction.atomic
def _recompute_batch(pks: Iterable[int], now, result: RecomputeResult) -> None:
    rows = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("organization__contract")
        .filter(pk__in=list(pks), status__in=ACTIVE_STATUSES)
    )
    targets = _targets_for(rows)
    changed, events = [], []
    for ticket in rows:
        result.tickets += 1
        before = {name: getattr(ticket, name) for name in SLA_FIELDS}
        contract = getattr(ticket.organization, "contract", None)
        key = (contract.plan_id, ticket.priority) if contract else None
        compute_deadlines(ticket, now=now, target=targets.get(key))
        moved = [n for n in _DEADLINES if getattr(ticket, n) != before[n]]
        if any(getattr(ticket, n) != before[n] for n in SLA_FIELDS):
            result.changed_tickets += 1
            result.changed_deadlines += len(moved)
            if ticket.next_check_at is not None or moved:
                ticket.next_check_at = now
            changed.append(ticket)
            events.append(_recomputed_event(ticket, moved, now))
    Ticket.objects.bulk_update(changed, [*SLA_FIELDS, "next_check_at"])
    record(
        [
            TicketChange(e.ticket, None, "recompute", now, events=[e])
            for e in events
            if e is not None
        ]
    )


def _targets_for(rows) -> _TARGET_CACHE_TYPE:
    contracts = (getattr(t.organization, "contract", None) for t in rows)
    plans = {c.plan_id for c in contracts if c is not None}
    found = PlanTarget.objects.select_related("plan").filter(plan_id__in=plans)
    return {(t.plan_id, t.priority): t for t in found}


def _recomputed_event(ticket, moved, now) -> TicketEvent | None:
    if not moved:
        return None
    region = _region(ticket)
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
    return Ticket.objects.active().filter(organization__contract__region=region).count()
