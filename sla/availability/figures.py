"""Availability figures of an organization's month, and the months themselves.

Pure arithmetic is in `intervals.py`; this module reads the intervals from the database.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from core.errors import ServiceError
from core.replica import on_replica

from . import intervals
from .models import ForceMajeurePeriod, Incident, MaintenanceWindow, PlannedInterruption

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


# -- months --------------------------------------------------------------------------------


def parse_month(value: str | None, *, field: str = "month") -> datetime.date:
    match = MONTH_RE.match((value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise ServiceError(_("Give the month as YYYY-MM, e.g. 2026-03."), field=field)
    if int(match.group(1)) > 9998:  # its end (next month, UTC) would overflow a datetime
        raise ServiceError(_("This month has not started yet."), field=field)
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


def current_month(now: datetime.datetime | None = None) -> datetime.date:
    now = (now or timezone.now()).astimezone(datetime.UTC)
    return datetime.date(now.year, now.month, 1)


def previous_month(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def last_months(count: int, now: datetime.datetime | None = None) -> list[datetime.date]:
    """The `count` months ending with the current one, oldest first."""
    months = [current_month(now)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


# -- availability --------------------------------------------------------------------------


def unavailability_intervals(
    organization: Organization | None, lo: datetime.datetime, hi: datetime.datetime
) -> list[intervals.Interval]:
    """Maintenance windows, planned interruptions announced in advance, force majeure."""
    periods = []
    for window in MaintenanceWindow.objects.affecting(organization).filter(active=True):
        periods += intervals.weekly_occurrences(
            window.weekday, window.start_time, window.end_time, window.utc_offset_minutes, lo, hi
        )
    planned = PlannedInterruption.objects.affecting(organization).filter(start__lt=hi, end__gt=lo)
    # "Announced" means announced before it starts: a late notice does not excuse downtime.
    periods += [(p.start, p.end) for p in planned if p.announced_in_advance]
    majeure = ForceMajeurePeriod.objects.affecting(organization).filter(start__lt=hi, end__gt=lo)
    periods += [(p.start, p.end) for p in majeure]
    return intervals.merge(periods)


def incident_intervals(
    organization: Organization | None,
    lo: datetime.datetime,
    hi: datetime.datetime,
    now: datetime.datetime,
) -> list[intervals.Interval]:
    """Incidents overlapping [lo, hi); `organization=None` means all-organization ones only."""
    qs = Incident.objects.affecting(organization).filter(started_at__lt=hi)
    qs = qs.exclude(ended_at__lte=lo)
    return intervals.merge(i.interval(now) for i in qs)


def month_figures(
    organization: Organization | None, month: datetime.date, now: datetime.datetime | None = None
) -> intervals.MonthFigures:
    """The month's availability for one organization (None: incidents affecting everyone).

    A future month is refused; the current month is measured from its start up to now.
    """
    now = now or timezone.now()
    lo, hi = intervals.month_bounds(month)
    if lo > now:
        raise ServiceError(_("This month has not started yet."), field="month")
    hi = min(hi, now)
    return intervals.compute_month(
        (lo, hi),
        incident_intervals(organization, lo, hi, now),
        unavailability_intervals(organization, lo, hi),
    )


# core.replica.on_replica is not annotated yet (core is typed separately).
@on_replica  # type: ignore[untyped-decorator]
def availability_report(
    organization: Organization | None, month: datetime.date, now: datetime.datetime | None = None
) -> dict[str, Any]:
    """The API's availability body (SPEC section 6 field names)."""
    figures = month_figures(organization, month, now)
    return {
        "month": f"{month:%Y-%m}",
        "availability_percent": intervals.report_percent(figures.availability),
        "downtime_minutes": intervals.report_minutes(figures.downtime),
        "eligible_minutes": intervals.report_minutes(figures.eligible),
        "excluded_minutes": intervals.report_minutes(figures.excluded),
        "target_percent": float(intervals.TARGET_PERCENT),
        "credits": figures.credits,
    }


# core.replica.on_replica is not annotated yet (core is typed separately).
@on_replica  # type: ignore[untyped-decorator]
def availability_history(
    organization: Organization | None, count: int, now: datetime.datetime | None = None
) -> list[dict[str, Any]]:
    """The last `count` months (current one measured to now), oldest first, in 4 queries."""
    now = now or timezone.now()
    months = last_months(count, now)
    lo = intervals.month_bounds(months[0])[0]
    incidents = incident_intervals(organization, lo, now, now)
    excluded = unavailability_intervals(organization, lo, now)
    rows = []
    for month in months:
        m_lo, m_hi = intervals.month_bounds(month)
        figures = intervals.compute_month((m_lo, min(m_hi, now)), incidents, excluded)
        rows.append(
            {
                "month": f"{month:%Y-%m}",
                "month_date": month,
                "percent": intervals.report_percent(figures.availability),
                "downtime_minutes": intervals.report_minutes(figures.downtime),
                "credits": figures.credits,
                "partial": m_hi > now,
            }
        )
    return rows


def open_incidents(
    organization: Organization | None, now: datetime.datetime | None = None
) -> list[Incident]:
    now = now or timezone.now()
    return list(
        Incident.objects.affecting(organization)
        .filter(ended_at__isnull=True, started_at__lte=now)
        .order_by("-started_at")
    )


def upcoming_maintenance(
    organization: Organization | None, now: datetime.datetime | None = None, count: int = 4
) -> list[intervals.Interval]:
    """The next `count` weekly maintenance windows (the current one included)."""
    now = now or timezone.now()
    periods = []
    for window in MaintenanceWindow.objects.affecting(organization).filter(active=True):
        periods += intervals.weekly_occurrences(
            window.weekday,
            window.start_time,
            window.end_time,
            window.utc_offset_minutes,
            now,
            now + datetime.timedelta(days=7 * count + 1),
        )
    return intervals.merge(periods)[:count]
