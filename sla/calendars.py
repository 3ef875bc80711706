"""Business calendars of the three support regions (no Django).

Public holidays come from the ``holidays`` package (observed/substitute days
included exactly as the package lists them).  Building holiday sets is slow,
so calendars are cached: :func:`region_calendar` returns the *same* calendar
instance for the same arguments, which also shares the calendar's lazily built
business-day table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from .business_time import BusinessCalendar

__all__ = ["REGIONS", "DEFAULT_YEARS", "region_calendar", "region_holidays", "region_timezone"]

# region code -> (IANA time zone, holidays country code, holidays subdivision)
REGIONS: dict[str, tuple[str, str, str | None]] = {
    "GMT": ("Europe/London", "GB", "ENG"),
    "US-EST": ("America/New_York", "US", None),
    "US-PST": ("America/Los_Angeles", "US", None),
}

DEFAULT_YEARS = range(2015, 2046)


def region_timezone(region: str | None) -> str:
    """The IANA zone of a support region ("Europe/London"); UTC when there is none."""
    return REGIONS[region][0] if region in REGIONS else "UTC"


def _region(region: str) -> tuple[str, str, str | None]:
    try:
        return REGIONS[region]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown support region {region!r}; expected one of {sorted(REGIONS)}"
        ) from None


@lru_cache(maxsize=32)
def _holiday_dates(country: str, subdiv: str | None, years: tuple[int, ...]) -> frozenset[date]:
    calendar = holidays.country_holidays(country, subdiv=subdiv, years=years)
    return frozenset(calendar.keys())


def _normalize_dates(values: Iterable[date | str], name: str) -> tuple[date, ...]:
    if isinstance(values, (str, date)):
        values = (values,)
    result = set()
    for value in values:
        if isinstance(value, str):
            value = date.fromisoformat(value)
        elif isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{name} must contain datetime.date objects (or ISO strings)")
        result.add(value)
    return tuple(sorted(result))


def region_holidays(region: str, years: Iterable[int] = DEFAULT_YEARS) -> frozenset[date]:
    """The public holidays (closed days) of ``region`` for ``years``."""
    _, country, subdiv = _region(region)
    return _holiday_dates(country, subdiv, tuple(sorted(set(years))))


def region_calendar(
    region: str,
    extra_closed: Iterable[date | str] = (),
    extra_open: Iterable[date | str] = (),
    years: Iterable[int] = DEFAULT_YEARS,
) -> BusinessCalendar:
    """Business calendar of a support region ("GMT", "US-EST" or "US-PST").

    Closed dates are the region's public holidays for ``years`` plus
    ``extra_closed``; ``extra_open`` dates are business days even if they are
    holidays or fall on a weekend.  Raises ``ValueError`` for an unknown region.
    """
    _region(region)
    return _region_calendar(
        region,
        _normalize_dates(extra_closed, "extra_closed"),
        _normalize_dates(extra_open, "extra_open"),
        tuple(sorted(set(years))),
    )


@lru_cache(maxsize=256)
def _region_calendar(
    region: str,
    extra_closed: tuple[date, ...],
    extra_open: tuple[date, ...],
    years: tuple[int, ...],
) -> BusinessCalendar:
    tz_name, country, subdiv = REGIONS[region]
    closed = _holiday_dates(country, subdiv, years) | frozenset(extra_closed)
    return BusinessCalendar(
        tz=ZoneInfo(tz_name),
        closed_dates=closed,
        open_dates=frozenset(extra_open),
    )
