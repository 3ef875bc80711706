"""The SLA target running on a ticket now, and the moments a fraction of it has elapsed.

One type, :class:`SlaTarget`, read by escalation (when each rule is due) and by the display
(the amber badge at 75%). Built from the ticket's stored fields and the cached calendar.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from tickets.models import ACTIVE_STATUSES, Ticket

from . import business_time as bt
from .calendar_cache import calendar_for_region, region_of
from .models import Clock, Phase

ZERO = datetime.timedelta(0)


def add_time(
    calendar: bt.BusinessCalendar,
    start: datetime.datetime,
    duration: datetime.timedelta,
    clock: str,
) -> datetime.datetime:
    """``start`` plus ``duration`` counted in ``clock``."""
    if clock == Clock.BUSINESS:
        return bt.add_business_time(calendar, start, duration)
    # In UTC: aware arithmetic within one zone would add wall-clock time across a DST change.
    return start.astimezone(datetime.UTC) + duration


def time_between(
    calendar: bt.BusinessCalendar, start: datetime.datetime, end: datetime.datetime, clock: str
) -> datetime.timedelta:
    """The time from ``start`` to ``end`` counted in ``clock``."""
    if clock == Clock.BUSINESS:
        return bt.business_time_between(calendar, start, end)
    return end.astimezone(datetime.UTC) - start.astimezone(datetime.UTC)


@dataclass(frozen=True)
class SlaTarget:
    """The target running now: its phase, start, stored deadline and clock.

    ``paused`` is the time the resolution clock spent waiting for the customer: it pushed the
    deadline out and is not part of the target's own duration.
    """

    phase: Phase
    start: datetime.datetime
    due: datetime.datetime
    clock: Clock
    calendar: bt.BusinessCalendar
    paused: datetime.timedelta = ZERO

    @property
    def business(self) -> bool:
        return self.clock == Clock.BUSINESS

    def remaining(self, now: datetime.datetime) -> datetime.timedelta:
        """Time left until the deadline at ``now``, in the target's clock (negative: late)."""
        return time_between(self.calendar, now, self.due, self.clock)

    def moment(self, fraction: float) -> datetime.datetime:
        """The instant ``fraction`` of the target's time has elapsed, in its own clock.

        E.g. 0.75 (the warning), 1.0 (exactly the stored deadline), 1.5 and 2.0 (levels).
        Paused time shifts every moment as it shifted the deadline.
        """
        if fraction == 1:
            return self.due
        total = time_between(self.calendar, self.start, self.due, self.clock)
        duration = max(total - self.paused, ZERO) * fraction + self.paused
        return add_time(self.calendar, self.start, duration, self.clock)


def current_target(ticket: Ticket) -> SlaTarget | None:
    """The SLA target running now, or None when no clock runs.

    The response target until the first response, then the resolution target. None when
    excluded, resolved or closed, without a target (P3, no contract), or paused. Reads only
    the stored fields (and the cached calendar): no query per ticket when the ticket was
    fetched with ``select_related("organization__contract")``.
    """
    if ticket.excluded or ticket.status not in ACTIVE_STATUSES or ticket.paused_since:
        return None
    region = region_of(ticket)
    if region is None:
        return None
    if ticket.first_response_at is None:
        return _target(
            Phase.RESPONSE,
            ticket.received_at,
            ticket.response_due_at,
            ticket.response_clock,
            region,
        )
    paused = datetime.timedelta(seconds=ticket.paused_seconds)
    return _target(
        Phase.RESOLUTION,
        ticket.first_response_at,
        ticket.resolution_due_at,
        ticket.resolution_clock,
        region,
        paused,
    )


def _target(
    phase: Phase,
    start: datetime.datetime,
    due: datetime.datetime | None,
    clock: str,
    region: str,
    paused: datetime.timedelta = ZERO,
) -> SlaTarget | None:
    if due is None:
        return None
    calendar = calendar_for_region(region)
    return SlaTarget(phase, start, due, Clock(clock or Clock.BUSINESS), calendar, paused)
