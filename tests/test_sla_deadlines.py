"""Deadlines computed through the ticket services, hand-computed per region and priority.

Business hours are Mon-Fri [09:00, 18:00) local time; a business day is 9 business hours.
"""

import datetime

import holidays
import pytest
import time_machine

from sla.models import Clock
from tests.sla_helpers import (
    LONDON,
    LOS_ANGELES,
    NEW_YORK,
    _fresh_calendars,  # noqa: F401 - autouse fixture
    at,
    open_at,
    org_in,
    utc,
)
from tickets import services
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


def sla_notes(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind="sla", public=True).values_list(
            "note", flat=True
        )
    )


# --- P0 outside business hours ------------------------------------------------------------


def test_p0_received_on_saturday_is_due_in_two_clock_hours(org):
    ticket = open_at(org, at(LONDON, 2026, 3, 7, 10, 0), "P0")  # Saturday, GMT = UTC
    assert ticket.response_due_at == utc(2026, 3, 7, 12, 0)
    assert ticket.response_clock == Clock.CLOCK
    assert ticket.resolution_due_at is None  # starts at the first response
    assert sla_notes(ticket) == [
        "received outside business hours: 2 clock hours, response due Sat 7 Mar 2026 12:00 GMT"
    ]


def test_p0_friday_1730_london_is_due_monday_1030_in_business_hours(org):
    # 30 min on Friday (17:30-18:00), then 1 h 30 on Monday from 09:00.
    ticket = open_at(org, at(LONDON, 2026, 3, 6, 17, 30), "P0")
    assert ticket.response_due_at == utc(2026, 3, 9, 10, 30)
    assert ticket.response_clock == Clock.BUSINESS
    assert sla_notes(ticket) == [
        "clock started (business hours, region GMT), response due Mon 9 Mar 2026 10:30 GMT"
    ]


@pytest.mark.parametrize(
    ("received", "priority", "due", "clock"),
    [
        # 18:00 sharp is outside [09:00, 18:00): P0 gets 2 clock hours.
        (at(LONDON, 2026, 3, 4, 18, 0), "P0", utc(2026, 3, 4, 20, 0), Clock.CLOCK),
        (at(LONDON, 2026, 3, 4, 8, 59), "P0", utc(2026, 3, 4, 10, 59), Clock.CLOCK),
        # P1 has no outside-hours rule: 6 business hours from the next opening.
        (at(LONDON, 2026, 3, 4, 8, 59), "P1", utc(2026, 3, 4, 15, 0), Clock.BUSINESS),
        (at(LONDON, 2026, 3, 4, 18, 0), "P1", utc(2026, 3, 5, 15, 0), Clock.BUSINESS),
        # 09:00 sharp is inside: P0 gets 2 business hours.
        (at(LONDON, 2026, 3, 4, 9, 0), "P0", utc(2026, 3, 4, 11, 0), Clock.BUSINESS),
    ],
)
def test_edges_of_business_hours(org, received, priority, due, clock):
    ticket = open_at(org, received, priority)
    assert (ticket.response_due_at, ticket.response_clock) == (due, clock)


def test_p2_deadline_ending_at_closing_time_is_that_closing_time(org):
    # 8 business hours from Wednesday 10:00 end at 18:00 the same day, not Thursday 09:00.
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P2")
    assert ticket.response_due_at == utc(2026, 3, 4, 18, 0)


def test_p0_clock_hours_across_the_us_dst_change_are_real_hours():
    # 01:30 EST on Sunday 8 March 2026 = 06:30 UTC; 2 elapsed hours later is 08:30 UTC
    # (04:30 EDT: the wall clock jumped from 02:00 to 03:00).
    ticket = open_at(org_in("US-EST"), at(NEW_YORK, 2026, 3, 8, 1, 30), "P0")
    assert ticket.response_due_at == utc(2026, 3, 8, 8, 30)


def test_p3_has_no_deadlines(org):
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P3")
    assert ticket.response_due_at is None and ticket.resolution_due_at is None
    assert sla_notes(ticket) == ["no SLA target (P3)"]


# --- holidays ----------------------------------------------------------------------------


def test_holidays_package_closes_28_december_2026_in_england_only():
    assert datetime.date(2026, 12, 28) in holidays.country_holidays("GB", subdiv="ENG", years=2026)
    assert datetime.date(2026, 12, 28) not in holidays.country_holidays("US", years=2026)
    assert datetime.date(2026, 12, 25) in holidays.country_holidays("US", years=2026)


def test_christmas_week_in_london_skips_25_and_28_december(org):
    # Thu 24 Dec 15:00: 3 h that day; Fri 25 (Christmas), the weekend and Mon 28 (Boxing Day
    # substitute) are closed; 3 h more on Tue 29 Dec from 09:00 -> 12:00 GMT.
    ticket = open_at(org, at(LONDON, 2026, 12, 24, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 12, 29, 12, 0)


def test_christmas_week_in_new_york_skips_only_25_december():
    # Thu 24 Dec 15:00 EST: 3 h; Fri 25 closed; Mon 28 open: 09:00 + 3 h = 12:00 EST = 17:00 UTC.
    ticket = open_at(org_in("US-EST"), at(NEW_YORK, 2026, 12, 24, 15, 0), "P1")
    assert ticket.response_due_at == utc(2026, 12, 28, 17, 0)


def test_p0_on_an_english_bank_holiday_weekday_is_outside_business_hours(org):
    # Mon 28 Dec 2026 10:00 is a closed day in England: 2 clock hours.
    ticket = open_at(org, at(LONDON, 2026, 12, 28, 10, 0), "P0")
    assert ticket.response_due_at == utc(2026, 12, 28, 12, 0)
    assert ticket.response_clock == Clock.CLOCK


# --- daylight saving time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "received", "priority", "due"),
    [
        # US springs forward on Sun 8 Mar 2026. Fri 14:00 EST (19:00 UTC) + 8 bh: 4 h Friday,
        # 4 h Monday from 09:00 EDT -> 13:00 EDT = 17:00 UTC.
        ("US-EST", at(NEW_YORK, 2026, 3, 6, 14, 0), "P2", utc(2026, 3, 9, 17, 0)),
        # Fri 15:00 PST + 6 bh: 3 h Friday, 3 h Monday -> 12:00 PDT = 19:00 UTC.
        ("US-PST", at(LOS_ANGELES, 2026, 3, 6, 15, 0), "P1", utc(2026, 3, 9, 19, 0)),
        # UK springs forward on Sun 29 Mar 2026. Fri 16:00 GMT + 6 bh: 2 h Friday, 4 h
        # Monday -> 13:00 BST = 12:00 UTC.
        ("GMT", at(LONDON, 2026, 3, 27, 16, 0), "P1", utc(2026, 3, 30, 12, 0)),
        # UK falls back on Sun 25 Oct 2026. Fri 15:00 BST (14:00 UTC) + 6 bh: 3 h Friday, 3 h
        # Monday -> 12:00 GMT = 12:00 UTC.
        ("GMT", at(LONDON, 2026, 10, 23, 15, 0), "P1", utc(2026, 10, 26, 12, 0)),
        # US falls back on Sun 1 Nov 2026. Fri 15:00 EDT (19:00 UTC) + 6 bh: 3 h Friday, 3 h
        # Monday -> 12:00 EST = 17:00 UTC.
        ("US-EST", at(NEW_YORK, 2026, 10, 30, 15, 0), "P1", utc(2026, 11, 2, 17, 0)),
        ("US-PST", at(LOS_ANGELES, 2026, 10, 30, 15, 0), "P1", utc(2026, 11, 2, 20, 0)),
    ],
)
def test_dst_weeks(region, received, priority, due):
    ticket = open_at(org_in(region), received, priority)
    assert ticket.response_due_at == due


# --- resolution --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "due"),
    [
        # 90 bh = 10 business days: Mon 2 Mar 10:00 -> Mon 16 Mar 10:00 (no holiday).
        ("P1", utc(2026, 3, 16, 10, 0)),
        # 180 bh = 20 business days -> Mon 30 Mar 10:00 BST (the UK changed on 29 Mar) = 09:00 UTC.
        ("P2", utc(2026, 3, 30, 9, 0)),
        # 48 bh: Mon 8 h, Tue-Fri 36 h (44), Mon 9 Mar 09:00 + 4 h = 13:00.
        ("P0", utc(2026, 3, 9, 13, 0)),
    ],
)
def test_resolution_clock_starts_at_first_response(org, charlie, priority, due):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), priority)
    assert ticket.resolution_due_at is None
    with time_machine.travel(utc(2026, 3, 2, 10, 30), tick=False):
        ticket = services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
    assert ticket.resolution_due_at == due
    assert ticket.resolution_clock == Clock.BUSINESS
    assert ticket.response_breached_at is None
    assert sla_notes(ticket)[-1] == (
        f"first response at Mon 2 Mar 2026 10:00 GMT; resolution clock started, due "
        f"{ticket.resolution_due_at.astimezone(LONDON):%a} {due.astimezone(LONDON).day} "
        f"{due.astimezone(LONDON):%b %Y %H:%M %Z}"
    )


def test_first_public_staff_reply_starts_the_resolution_clock(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 2, 10, 0), tick=False):
        services.add_comment(ticket, author=charlie, body="Looking into it.")
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == utc(2026, 3, 16, 10, 0)


def test_late_first_response_records_the_response_breach(org, charlie):
    # P1 received Mon 09:00: due 15:00; diagnosis starts at 16:00.
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 2, 17, 0), tick=False):
        ticket = services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 16, 0))
    assert ticket.response_breached_at == utc(2026, 3, 2, 15, 0)
    assert ticket.response_breached
    assert "response breached (due Mon 2 Mar 2026 15:00 GMT)" in sla_notes(ticket)


def test_resolved_late_records_breach_and_lateness(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False):
        services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 2, 10, 0))
        # Due Mon 16 Mar 10:00; resolved Tue 17 Mar 13:00 = 27 h later.
        ticket = services.resolve(ticket, actor=charlie, at=utc(2026, 3, 17, 13, 0))
    assert ticket.resolution_breached_at == utc(2026, 3, 16, 10, 0)
    notes = sla_notes(ticket)
    assert notes[-2:] == [
        "resolved 1 day 3 h late (due Mon 16 Mar 2026 10:00 GMT)",
        "resolution breached (due Mon 16 Mar 2026 10:00 GMT)",
    ]


def test_resolved_in_time(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 2, 9, 0), "P1")
    with time_machine.travel(utc(2026, 3, 20, 12, 0), tick=False):
        ticket = services.resolve(ticket, actor=charlie, at=utc(2026, 3, 2, 11, 0))
    assert ticket.first_response_at == utc(2026, 3, 2, 11, 0)
    assert ticket.resolution_breached_at is None and ticket.response_breached_at is None
    assert sla_notes(ticket)[-1] == "resolved within target"


# --- re-classification and exclusion -------------------------------------------------------


def test_triage_recomputes_from_the_original_times_and_records_it(org, alice, charlie):
    # Suggested P2 at Wed 4 Mar 10:00: response due 18:00 (8 bh).
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P2")
    assert ticket.response_due_at == utc(2026, 3, 4, 18, 0)
    with time_machine.travel(utc(2026, 3, 4, 11, 30), tick=False):
        services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 4, 11, 0))
    with time_machine.travel(utc(2026, 3, 4, 12, 0), tick=False):
        ticket = services.triage(ticket, priority="P1", actor=charlie)
    # P1 from the original receipt: 10:00 + 6 bh = 16:00; from the first response (11:00),
    # 90 bh = 10 business days -> Wed 18 Mar 11:00.
    assert ticket.response_due_at == utc(2026, 3, 4, 16, 0)
    assert ticket.resolution_due_at == utc(2026, 3, 18, 11, 0)
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == utc(2026, 3, 18, 11, 0)
    assert sla_notes(ticket)[-1] == (
        "re-classified P2 → P1: response due Wed 4 Mar 2026 16:00 GMT, "
        "resolution due Wed 18 Mar 2026 11:00 GMT"
    )


def test_triage_to_p0_can_make_the_first_response_late(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P2")
    with time_machine.travel(utc(2026, 3, 4, 13, 0), tick=False):
        services.start_diagnosis(ticket, actor=charlie, at=utc(2026, 3, 4, 12, 30))
        ticket = services.triage(ticket, priority="P0", actor=charlie)
    # P0 received in hours: 10:00 + 2 bh = 12:00 < 12:30 first response.
    assert ticket.response_due_at == utc(2026, 3, 4, 12, 0)
    assert ticket.response_breached_at == utc(2026, 3, 4, 12, 0)
    # 48 bh from 12:30 Wed: 5.5 h Wed, Thu-Fri 18 (23.5), Mon-Tue 18 (41.5), Wed + 6.5 h.
    assert ticket.resolution_due_at == utc(2026, 3, 11, 15, 30)
    assert "response breached (due Wed 4 Mar 2026 12:00 GMT)" in sla_notes(ticket)


def test_triage_to_p0_of_a_report_received_at_night_gives_two_clock_hours(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 22, 0), "P2")
    assert ticket.response_due_at == utc(2026, 3, 5, 17, 0)  # 8 bh from Thu 09:00
    with time_machine.travel(utc(2026, 3, 4, 22, 30), tick=False):
        ticket = services.triage(ticket, priority="P0", actor=charlie)
    assert ticket.response_due_at == utc(2026, 3, 5, 0, 0)
    assert ticket.response_clock == Clock.CLOCK


def test_exclusion_clears_deadlines_and_inclusion_restores_them(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P1")
    with time_machine.travel(utc(2026, 3, 4, 11, 0), tick=False):
        ticket = services.set_exclusion(
            ticket, excluded=True, reason="Internet Explorer 11", actor=charlie
        )
        assert ticket.response_due_at is None and ticket.resolution_due_at is None
        assert ticket.response_clock == ""
        assert sla_notes(ticket)[-1] == "excluded from SLA: Internet Explorer 11"
        ticket.refresh_from_db()
        assert ticket.response_due_at is None
        ticket = services.set_exclusion(ticket, excluded=False, actor=charlie)
    assert ticket.response_due_at == utc(2026, 3, 4, 16, 0)
    assert sla_notes(ticket)[-1] == "SLA applies again: response due Wed 4 Mar 2026 16:00 GMT"


def test_standard_plan_has_slower_targets():
    org = org_in("GMT", "standard")
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P0")
    assert ticket.response_due_at == utc(2026, 3, 4, 14, 0)  # 4 bh
    night = open_at(org, at(LONDON, 2026, 3, 4, 20, 0), "P0")
    assert night.response_due_at == utc(2026, 3, 5, 0, 0)  # 4 clock hours


def test_organization_without_contract_gets_no_deadlines():
    from tests.factories import OrganizationFactory

    ticket = open_at(OrganizationFactory(contract=None), utc(2026, 3, 4, 10, 0), "P0")
    assert ticket.response_due_at is None


def test_assignment_does_not_recompute(org, charlie):
    ticket = open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P1")
    with time_machine.travel(utc(2026, 3, 4, 11, 0), tick=False):
        services.assign(ticket, assignee=charlie, actor=charlie)
    assert not TicketEvent.objects.filter(ticket=ticket, kind="sla", at__gte=utc(2026, 3, 4, 11))


def test_opening_a_ticket_stays_within_ten_queries(org, alice, django_assert_max_num_queries):
    from sla import engine

    engine.invalidate_calendars()  # cold calendar cache: the worst case
    with time_machine.travel(utc(2026, 3, 4, 10, 5), tick=False):
        with django_assert_max_num_queries(10):
            services.open_ticket(
                organization=org,
                reporter=alice,
                subject="Blank",
                description="Blank page",
                priority="P1",
                received_at=utc(2026, 3, 4, 10, 0),
            )


def test_sla_receiver_runs_before_escalation():
    from tickets.signals import ticket_changing

    uids = [entry[0][0] for entry in ticket_changing.receivers]
    assert "sla.recompute_deadlines" in uids
    # escalation (after sla in INSTALLED_APPS) reads the deadlines this receiver computes.
    assert uids.index("sla.recompute_deadlines") == 0
