"""In-process caches of what the deadlines read on every ticket change: a region's business
calendar (holidays plus the staff's overrides) and a plan's target for a priority.

Edits made by this process clear them at once (signals connected by sla.apps); other
processes see them within ``SLA_CALENDAR_CHECK_SECONDS`` (30 s).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from accounts.models import Plan
from tickets.models import Ticket

from . import business_time as bt
from .calendars import REGIONS, region_calendar
from .models import BusinessCalendar, CalendarDay, PlanTarget


@dataclass
class _CachedCalendar:
    calendar: bt.BusinessCalendar
    version: int | None
    checked: float


_CALENDARS: dict[str, _CachedCalendar] = {}
_CALENDARS_LOCK = threading.Lock()
_TARGETS: dict[tuple[int, str], tuple[PlanTarget | None, float]] = {}


def _check_seconds() -> float:
    # How stale another process's calendar edit may be here; this process invalidates at once.
    return float(getattr(settings, "SLA_CALENDAR_CHECK_SECONDS", 30))


def region_of(ticket: Ticket) -> str | None:
    """The support region of the ticket's organization (None without a contract)."""
    organization = getattr(ticket, "organization", None)
    return organization.region if organization is not None else None


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
    days: list[tuple[Any, str]] = []
    if version is not None:
        days = list(CalendarDay.objects.filter(calendar__region=region).values_list("date", "kind"))
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


def plan_target(ticket: Ticket) -> PlanTarget | None:
    """The target of the ticket's plan and priority, cached in-process like the calendars.

    Opening a ticket reads it every time, so the cache saves a query on the API's hottest
    path.
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


def invalidate_targets(*args: object, **kwargs: object) -> None:
    _TARGETS.clear()


def _calendar_day_changed(sender: object, instance: CalendarDay, **kwargs: object) -> None:
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
