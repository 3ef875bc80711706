"""SlaTarget.moment for escalation, the optional pause, calendar overrides and their recompute."""

import io

import pytest
import time_machine
from django.core.management import call_command

from accounts.models import Plan
from sla import engine
from sla.models import BusinessCalendar, CalendarDay, Clock, PlanTarget
from tests.sla_helpers import (
    LONDON,
    _fresh_calendars,  # noqa: F401 - autouse fixture
    at,
    open_at,
    org_in,
    utc,
)
from tickets import services
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_seeded_platinum_targets_follow_the_contract():
    targets = {
        t.priority: (t.response_minutes, t.response_outside_hours_minutes, t.resolution_minutes)
        for t in PlanTarget.objects.filter(plan__slug="platinum")
    }
    # 2 bh (2 clock h outside hours) / 48 bh; 6 bh / 10 bd = 90 bh; 8 bh / 20 bd = 180 bh.
    assert targets == {
        "P0": (120, 120, 48 * 60),
        "P1": (360, None, 90 * 60),
        "P2": (480, None, 180 * 60),
        "P3": (None, None, None),
    }
    assert set(BusinessCalendar.objects.values_list("region", "holiday_country")) == {
        ("GMT", "GB"),
        ("US-EST", "US"),
        ("US-PST", "US"),
    }


# --- SlaTarget.moment ----------------------------------------------------------------------


def test_moment_of_a_business_target(org):
    # P1 received Mon 2 Mar 09:00: 6 bh, due 15:00.
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    ticket = Ticket.objects.select_related("organization__contract").get(pk=ticket.pk)
    assert engine.current_target(ticket).moment(0.75) == utc(2026, 3, 2, 13, 30)  # 4.5 bh
    assert (
        engine.current_target(ticket).moment(1.0) == ticket.response_due_at == utc(2026, 3, 2, 15)
    )
    assert engine.current_target(ticket).moment(1.5) == utc(2026, 3, 2, 18, 0)  # 9 bh: closing time
    assert engine.current_target(ticket).moment(2.0) == utc(2026, 3, 3, 12, 0)  # 12 bh: Tue 12:00


def test_moment_of_a_clock_target(org):
    ticket = open_at(org, at(LONDON, 2026, 3, 7, 10, 0), "P0")  # Saturday: 2 clock hours
    assert engine.current_target(ticket).clock == Clock.CLOCK
    assert engine.current_target(ticket).moment(0.75) == utc(2026, 3, 7, 11, 30)
    assert engine.current_target(ticket).moment(1.0) == utc(2026, 3, 7, 12, 0)
    assert engine.current_target(ticket).moment(1.5) == utc(2026, 3, 7, 13, 0)
    assert engine.current_target(ticket).moment(2.0) == utc(2026, 3, 7, 14, 0)


def test_moment_of_the_resolution_target(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 2, 10, 30), tick=False):
        ticket = services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
    target = engine.current_target(ticket)
    assert (target.phase, target.start, target.due) == (
        "resolution",
        utc(2026, 3, 2, 10, 0),
        utc(2026, 3, 16, 10, 0),
    )
    # 0.75 x 90 bh = 67.5 bh: Mon 8 h, Tue 3 - Tue 10 six days (62 h), Wed 11 + 5.5 h.
    assert engine.current_target(ticket).moment(0.75) == utc(2026, 3, 11, 14, 30)
    assert engine.current_target(ticket).moment(1.0) == ticket.resolution_due_at


def test_no_running_clock_when_resolved_excluded_or_p3(org, charlie):
    p3 = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P3")
    assert engine.current_target(p3) is None
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 2, 11, 0), tick=False):
        ticket = services.resolve(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
    assert engine.current_target(ticket) is None


# --- pause while pending -----------------------------------------------------------------


def test_pending_pauses_the_resolution_clock_when_the_plan_says_so(org, charlie):
    Plan.objects.filter(slug="platinum").update(pause_when_pending=True)
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 2, 10, 30), tick=False):
        services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
    with time_machine.travel(utc(2026, 3, 3, 10, 0), tick=False):
        ticket = services.set_status(ticket, status="pending", actor=charlie)
    assert ticket.paused_since == utc(2026, 3, 3, 10, 0)
    assert engine.current_target(ticket) is None  # no escalation while paused
    with time_machine.travel(utc(2026, 3, 4, 10, 0), tick=False):
        ticket = services.set_status(ticket, status="open", actor=charlie)
    # Paused Tue 10:00 -> Wed 10:00 = 9 business hours; due Mon 16 Mar 10:00 + 9 bh.
    assert ticket.paused_since is None
    assert ticket.paused_seconds == 9 * 3600
    assert ticket.resolution_due_at == utc(2026, 3, 17, 10, 0)
    assert engine.current_target(ticket).moment(1.0) == ticket.resolution_due_at
    ticket.refresh_from_db()
    assert (ticket.paused_seconds, ticket.resolution_due_at) == (32400, utc(2026, 3, 17, 10))
    notes = list(
        TicketEvent.objects.filter(ticket=ticket, kind="sla").values_list("note", flat=True)
    )
    assert notes[-2:] == [
        "resolution clock paused (pending customer)",
        "resolution clock resumed, resolution due Tue 17 Mar 2026 10:00 GMT",
    ]


def test_platinum_does_not_pause(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 3, 10, 0), tick=False):
        services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
        ticket = services.set_status(ticket, status="pending", actor=charlie)
    assert ticket.paused_since is None
    assert ticket.resolution_due_at == utc(2026, 3, 16, 10, 0)


# --- calendar overrides ------------------------------------------------------------------


def gmt_calendar():
    return BusinessCalendar.objects.get(region="GMT")


def test_an_extra_closed_day_is_used_for_new_tickets(org):
    CalendarDay.objects.create(calendar=gmt_calendar(), date="2026-03-03", note="Office move")
    # Mon 2 Mar 15:00 + 6 bh: 3 h Monday, Tuesday closed, 3 h Wednesday -> Wed 12:00.
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 3, 4, 12, 0)


def test_an_extra_open_day_opens_a_holiday(org):
    CalendarDay.objects.create(calendar=gmt_calendar(), date="2026-12-28", kind="open")
    # Thu 24 Dec 15:00 + 6 bh: 3 h Thursday, Mon 28 now open -> 12:00.
    ticket = open_at(org, at(LONDON, 2026, 12, 24, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 12, 28, 12, 0)


def test_calendar_day_edit_bumps_the_version_other_processes_check():
    calendar = gmt_calendar()
    day = CalendarDay.objects.create(calendar=calendar, date="2026-03-03")
    day.delete()
    calendar.refresh_from_db()
    assert calendar.version == 2


def test_recompute_command_moves_an_active_deadline_after_a_closed_day(org):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 15, 0), "P1")
    done = open_at(org, at(LONDON, 2026, 3, 2, 15, 0), "P1")
    Ticket.objects.filter(pk=done.pk).update(status="resolved")
    other = open_at(org_in("US-EST"), utc(2026, 3, 2, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 3, 3, 12, 0)
    CalendarDay.objects.create(calendar=gmt_calendar(), date="2026-03-03")
    ticket.refresh_from_db()
    assert ticket.response_due_at == utc(2026, 3, 3, 12, 0)  # stored until recomputed
    out, err = io.StringIO(), io.StringIO()
    with time_machine.travel(utc(2026, 3, 2, 16, 0), tick=False):
        call_command("recompute_deadlines", "--region", "GMT", stdout=out, stderr=err)
    ticket.refresh_from_db()
    assert ticket.response_due_at == utc(2026, 3, 4, 12, 0)
    assert ticket.next_check_at == utc(2026, 3, 2, 16, 0)  # the sweep re-plans it
    assert "1 active tickets checked, 1 updated, 1 deadlines changed." in out.getvalue()
    assert "\r1/1" in err.getvalue()
    event = TicketEvent.objects.get(ticket=ticket, action="recomputed")
    assert event.note == "business calendar changed: response due Wed 4 Mar 2026 12:00 GMT"
    assert Ticket.objects.get(pk=done.pk).response_due_at == utc(2026, 3, 3, 12, 0)
    assert Ticket.objects.get(pk=other.pk).response_due_at == other.response_due_at
    # A second run changes nothing.
    out = io.StringIO()
    with time_machine.travel(utc(2026, 3, 2, 16, 0), tick=False):
        call_command("recompute_deadlines", "--no-progress", stdout=out)
    assert "2 active tickets checked, 0 updated, 0 deadlines changed." in out.getvalue()


def test_recompute_in_batches(org):
    tickets = [open_at(org, at(LONDON, 2026, 3, 2, 15, 0), "P1") for _ in range(5)]
    CalendarDay.objects.create(calendar=gmt_calendar(), date="2026-03-03")
    steps = []
    with time_machine.travel(utc(2026, 3, 2, 16, 0), tick=False):
        result = engine.recompute_active(batch_size=2, progress=lambda d, t: steps.append(d))
    assert (result.tickets, result.changed_tickets) == (5, 5)
    assert steps[:3] == [2, 4, 5]
    assert {t.response_due_at for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])} == {
        utc(2026, 3, 4, 12, 0)
    }


def test_calendar_cache_rechecks_the_version_at_most_every_n_seconds(
    org, settings, django_assert_num_queries
):
    settings.SLA_CALENDAR_CHECK_SECONDS = 3600
    engine.calendar_for_region("GMT")
    with django_assert_num_queries(0):
        engine.calendar_for_region("GMT")
    # Another process's edit (no signal here): seen once the check interval has passed.
    BusinessCalendar.objects.filter(region="GMT").update(version=99)
    engine.calendar_for_region("GMT")
    settings.SLA_CALENDAR_CHECK_SECONDS = 0
    with django_assert_num_queries(2):  # version changed: version + overrides
        engine.calendar_for_region("GMT")
    with django_assert_num_queries(1):  # same version: one cheap query
        engine.calendar_for_region("GMT")
