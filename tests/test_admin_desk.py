"""The desk: most urgent first, sortable by SLA, saved views with cheap counts, honest bulk
messages, and a flat number of queries."""

import datetime
import re

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import StaffFactory
from tests.sla_helpers import (
    LONDON,
    _fresh_calendars,  # noqa: F401 - autouse fixture
    at,
    open_at,
    utc,
)
from tickets import desk, services
from tickets.models import Status

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 4, 12, 0)  # Wednesday noon, London = UTC
CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture
def staff_client(client, charlie):
    client.force_login(charlie)
    return client


@pytest.fixture
def tickets(org, charlie):
    """GMT Platinum tickets around NOW: breached, due within the hour, later, waiting, done."""
    made = {
        # Tue 09:00 + 6 bh = Tue 15:00: breached.
        "breached": open_at(org, at(LONDON, 2026, 3, 3, 9, 0), "P1"),
        # Tue 15:30 P1: Wed 12:30, due within the hour.
        "soon": open_at(org, at(LONDON, 2026, 3, 3, 15, 30), "P1"),
        # P2 Wed 11:00 + 8 bh: Thu 10:00.
        "later": open_at(org, at(LONDON, 2026, 3, 4, 11, 0), "P2"),
        "waiting": open_at(org, at(LONDON, 2026, 3, 4, 9, 30), "P2"),
        # Saturday: a P0 outside business hours runs on the 2-clock-hour target.
        "p0_night": open_at(org, at(LONDON, 2026, 2, 28, 22, 0), "P0"),
        "done": open_at(org, at(LONDON, 2026, 3, 4, 10, 0), "P1"),
    }
    with time_machine.travel(NOW, tick=False):
        services.assign(made["soon"], assignee=charlie, actor=charlie)
        services.set_status(made["waiting"], status=Status.PENDING, actor=charlie)
        services.start_diagnosis(made["done"], actor=charlie)
        services.resolve(made["done"], actor=charlie, resolution="Fixed.")
    return made


def refs_in_order(response) -> list[str]:
    return re.findall(r">(CS-\d{6})<", response.content.decode())


def get(client, params=None):
    with time_machine.travel(NOW, tick=False):
        return client.get(CHANGELIST, params or {})


def test_desk_shows_the_seven_columns(staff_client, tickets):
    html = get(staff_client).content.decode()
    for column in ("reference", "subject_cell", "organization_cell", "priority_badge", "status"):
        assert f"column-{column}" in html
    assert "column-assignee" in html and "column-sla_countdown" in html
    assert "column-received_at" not in html and "column-channel" not in html


URGENCY = ["p0_night", "breached", "soon", "waiting", "later", "done"]


def test_most_urgent_ticket_comes_first(staff_client, tickets):
    # The P0 night call (due Sun 00:00) and the P1 breached on Tuesday lead; "waiting" still
    # runs its response clock (Wed 17:30), "later" is due Thursday; resolved: no clock, last.
    expected = [tickets[name].reference for name in URGENCY]
    assert refs_in_order(get(staff_client)) == expected


def test_desk_sorts_by_sla_both_ways(staff_client, tickets):
    sla_column = 7  # reference, subject, organization, priority, status, assignee, SLA
    ascending = refs_in_order(get(staff_client, {"o": str(sla_column)}))
    descending = refs_in_order(get(staff_client, {"o": f"-{sla_column}"}))
    running = [tickets[name].reference for name in URGENCY[:-1]]
    assert ascending[:-1] == running
    assert [ref for ref in descending if ref in running] == running[::-1]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"soon"}),
        ("unassigned", {"breached", "later", "waiting", "p0_night"}),
        ("breaching", {"soon"}),
        ("waiting", {"waiting"}),
        ("p0_ooh", {"p0_night"}),
    ],
)
def test_saved_views_list_what_they_say(staff_client, tickets, view, expected):
    response = get(staff_client, {"view": view})
    assert set(refs_in_order(response)) == {tickets[name].reference for name in expected}


def test_saved_view_counts_match_the_views_in_one_query(tickets, charlie):
    with CaptureQueriesContext(connection) as ctx:
        counts = desk.view_counts(charlie, now=NOW)
    assert len(ctx.captured_queries) == 1
    assert "FILTER" in ctx.captured_queries[0]["sql"]
    assert counts == {"mine": 1, "unassigned": 4, "breaching": 1, "waiting": 1, "p0_ooh": 1}


def test_sidebar_shows_each_view_with_its_count(staff_client, tickets):
    html = get(staff_client).content.decode()
    assert 'data-view="unassigned"' in html
    match = re.search(r'data-view="unassigned">[^<]*<span class="desk-count[^"]*">(\d+)<', html)
    assert match and match.group(1) == "4"


def test_breached_and_at_risk_rows_carry_red_and_amber_cues(staff_client, tickets):
    html = get(staff_client).content.decode()
    assert "sla-breached" in html and "sla-warn" in html


# --- bulk actions -------------------------------------------------------------------------


def run_action(client, action, tickets, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tickets], "index": 0, **extra}
    with time_machine.travel(NOW, tick=False):
        return client.post(CHANGELIST, data, follow=True)


def levels(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_nothing_changed_is_a_warning_with_the_reason(staff_client, tickets):
    response = run_action(staff_client, "assign_to_me", [tickets["soon"]])
    found = levels(response)
    assert ("warning", "Assign to me: 0 of 1 ticket changed.") in found
    assert ("warning", f"{tickets['soon'].reference}: already so, nothing to change.") in found
    assert not any(level == "success" for level, _text in found)


def test_everything_changed_is_a_success(staff_client, tickets):
    response = run_action(staff_client, "assign_to_me", [tickets["breached"], tickets["later"]])
    assert ("success", "Assign to me: 2 of 2 tickets changed.") in levels(response)


def test_partly_changed_is_a_warning(staff_client, tickets):
    response = run_action(staff_client, "assign_to_me", [tickets["breached"], tickets["soon"]])
    assert ("warning", "Assign to me: 1 of 2 tickets changed.") in levels(response)


# --- query counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("view", [None, "mine", "breaching"])
def test_desk_queries_do_not_grow_with_tickets(staff_client, org, view):
    def count():
        with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as ctx:
            assert staff_client.get(CHANGELIST, {"view": view} if view else {}).status_code == 200
        return len(ctx.captured_queries)

    open_at(org, at(LONDON, 2026, 3, 3, 9, 0), "P1")
    staff_client.get(CHANGELIST)  # warm the session and calendar caches
    few = count()
    agents = StaffFactory.create_batch(3)
    for hour in range(10, 17):
        ticket = open_at(org, at(LONDON, 2026, 3, 3, hour, 0), "P0")
        services.assign(ticket, assignee=agents[hour % 3], actor=agents[0])
    assert count() == few


def test_desk_page_query_budget(staff_client, org, django_assert_max_num_queries):
    for hour in range(9, 17):
        open_at(org, at(LONDON, 2026, 3, 3, hour, 0), "P1")
    staff_client.get(CHANGELIST)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(12):
        assert staff_client.get(CHANGELIST).status_code == 200


def test_view_filter_rejects_unknown_keys():
    with pytest.raises(KeyError):
        desk.view_filter("nope", None, now=NOW)


def test_due_between_is_half_open(tickets):
    soon = tickets["soon"]
    due = soon.response_due_at
    from tickets.models import Ticket

    assert Ticket.objects.filter(desk.due_between(due, due + datetime.timedelta(minutes=1)))
    assert not Ticket.objects.filter(
        desk.due_between(due - datetime.timedelta(minutes=1), due), pk=soon.pk
    )


@pytest.mark.parametrize("params", [{}, {"view": "mine"}, {"o": "1", "q": "CS"}])
def test_desk_rows_are_django_rows_built_once_per_column(staff_client, tickets, params):
    """The desk's one-pass rows carry exactly the markup Django's result_list would."""
    from django.contrib.admin.templatetags import admin_list

    from tickets.templatetags.desk_list import fast_results

    response = get(staff_client, params)
    cl = response.context["cl"]
    assert cl.result_list
    with time_machine.travel(NOW, tick=False):
        expected = [list(row) for row in admin_list.results(cl)]
        assert [list(row) for row in fast_results(cl)] == expected
    assert "_changelist_filters=" in expected[0][1] or not params
