"""What keeps the desk and the portal list flat at a million tickets: capped counts read a
bounded number of rows in no order, the saved-view counts are reused for a few seconds, the
organization filter builds its links once, and no list sends more queries for more rows."""

import datetime

import pytest
import time_machine
from django.contrib.admin.views.main import ChangeList
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation

from core import paging
from core.paging import CappedCount
from tests.factories import OrganizationFactory, StaffFactory, TicketFactory
from tickets import desk, event_text, listing
from tickets.admin.desk import OrganizationFilter
from tickets.admin.ticket import priority_badge
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)
CHANGELIST = "/admin/tickets/ticket/"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def queries_for(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, params or {}).status_code == 200
    return len(ctx.captured_queries)


def make(org, other_org, rows):
    statuses = [Status.NEW, Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED]
    for i in range(rows):
        TicketFactory(
            organization=org if i % 2 else other_org,
            status=statuses[i % len(statuses)],
            priority="P1",
            subject=f"Heatmap gap {i}",
        )


# --- no list sends more queries for more rows --------------------------------------------

PORTAL = [{}, {"filtered": "1", "tab": "all"}, {"filtered": "1", "q": "heatmap"}]
PORTAL += [{"filtered": "1", "status": "resolved", "priority": "P1"}]
DESK = [{}, {"o": "-7"}, {"q": "heatmap"}, {"priority__exact": "P1"}, {"view": "unassigned"}]
DESK += [{"organization__id__exact": "1"}, {"status__exact": "open", "assigned": "me"}]


@pytest.mark.parametrize("params", PORTAL)
def test_portal_lists_send_as_many_queries_for_40_tickets_as_for_10(
    client, alice, charlie, org, other_org, params, django_assert_max_num_queries
):
    make(org, other_org, 10)  # every status in both organizations
    counts = {}
    for user in (alice, charlie):
        client.force_login(user)
        client.get("/", params)  # the session
        counts[user.pk] = queries_for(client, "/", params)
    make(org, other_org, 30)
    for user in (alice, charlie):
        client.force_login(user)
        client.get("/", params)
        # Session, user, organization, pager (estimate, count), tabs, rows; a search may
        # ask whether few enough match to rank them.
        with django_assert_max_num_queries(8):
            assert queries_for(client, "/", params) == counts[user.pk]


@pytest.mark.parametrize("params", DESK)
def test_desk_lists_send_as_many_queries_for_40_tickets_as_for_10(
    client, charlie, org, other_org, params, django_assert_max_num_queries
):
    make(org, other_org, 10)
    client.force_login(charlie)
    client.get(CHANGELIST, params)  # the session and the saved-view counts
    few = queries_for(client, CHANGELIST, params)
    make(org, other_org, 30)
    # Session, user, organizations and agents (sidebar), estimate, count, rows; a search
    # first looks up the matching requesters.
    with django_assert_max_num_queries(8):
        assert queries_for(client, CHANGELIST, params) == few


def test_the_desk_does_not_build_the_app_list_it_does_not_show(client, charlie, org):
    TicketFactory(organization=org)
    client.force_login(charlie)
    client.get(CHANGELIST)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(CHANGELIST)
    assert not any("auth_permission" in q["sql"] for q in ctx.captured_queries)
    apps = response.context["available_apps"]  # still there for a template that reads it
    assert any(app["app_label"] == "tickets" for app in apps)


# --- capped counts ------------------------------------------------------------------------


def test_tabs_count_exactly_below_the_cap_and_say_plus_above(
    client, alice, org, other_org, monkeypatch
):
    make(org, other_org, 20)  # alice's organization: 2 of each status
    client.force_login(alice)
    tabs = {t["name"]: t["count"] for t in client.get("/").context["tabs"]}
    assert tabs == {"open": 6, "waiting": 2, "resolved": 4, "all": 10}
    monkeypatch.setattr(listing, "TAB_CAP", 5)
    response = client.get("/")
    tabs = {t["name"]: t["count"] for t in response.context["tabs"]}
    assert tabs == {"open": 5, "waiting": 2, "resolved": 4, "all": 5}
    assert str(tabs["all"]) == "5+" and str(tabs["waiting"]) == "2"
    assert '<span class="count">5+</span>' in response.content.decode()


def test_tab_counts_are_one_query_reading_at_most_cap_plus_one_rows(org, other_org):
    make(org, other_org, 6)
    visible = Ticket.objects.filter(organization=org)
    with CaptureQueriesContext(connection) as ctx:
        counts = listing.capped_counts({"all": visible, "done": visible.active()}, cap=2)
    assert len(ctx.captured_queries) == 1
    assert ctx.captured_queries[0]["sql"].count("LIMIT 3") == 2
    assert counts == {"all": 2, "done": 2} and str(counts["all"]) == "2+"


def test_nothing_visible_counts_nothing_without_a_query():
    with CaptureQueriesContext(connection) as ctx:
        counts = listing.capped_counts({"all": Ticket.objects.none()})
    assert counts == {"all": 0} and not ctx.captured_queries


def test_the_pager_counts_in_no_order_and_at_most_cap_plus_one_rows(org, other_org, monkeypatch):
    make(org, other_org, 6)
    monkeypatch.setattr(listing, "PAGER_CAP", 4)
    ordered = Ticket.objects.order_by(*desk.most_urgent_first())
    with CaptureQueriesContext(connection) as ctx:
        count = listing.pager_count(ordered)
    assert count >= 5 and isinstance(count, CappedCount)
    counted = ctx.captured_queries[-1]["sql"]
    assert "COUNT(" in counted and "ORDER BY" not in counted and "LIMIT 5" in counted
    assert listing.pager_count(ordered.filter(organization=org)) == 3


def test_a_large_estimate_stands_without_a_count(org, other_org, monkeypatch):
    make(org, other_org, 3)
    monkeypatch.setattr(paging, "estimate", lambda queryset: 50_000)
    with CaptureQueriesContext(connection) as ctx:
        count = listing.pager_count(Ticket.objects.all())
    assert count == 50_000 and str(count) == "10,000+" and not ctx.captured_queries
    assert Template("{{ n }}").render(Context({"n": listing.AtLeast(1000)})) == "1,000+"


# --- the desk's sidebar -------------------------------------------------------------------


def test_saved_view_counts_are_reused_then_recounted_after_the_agents_bulk_action(
    client, charlie, org, other_org
):
    make(org, other_org, 4)
    client.force_login(charlie)
    client.get(CHANGELIST)
    with CaptureQueriesContext(connection) as ctx:
        client.get(CHANGELIST)
    assert not any("FILTER (WHERE" in q["sql"] for q in ctx.captured_queries)
    ticket = Ticket.objects.filter(status=Status.NEW).first()
    action = {"action": "assign_to_me", "_selected_action": [ticket.pk]}
    client.post(CHANGELIST, action)
    response = client.get(CHANGELIST)
    counts = response.context["cl"].filter_specs[0].counts
    assert counts == desk.view_counts(charlie) and counts["mine"] == 1


def test_organization_links_are_djangos_own(charlie, org):
    OrganizationFactory(name="Zeta & Co")
    request = RequestFactory().get(CHANGELIST, {"status__exact": "open", "o": "1"})
    request.user = charlie
    from django.contrib import admin

    ticket_admin = admin.site._registry[Ticket]
    cl = ticket_admin.get_changelist_instance(request)
    spec = next(f for f in cl.filter_specs if isinstance(f, OrganizationFilter))
    ours = list(spec.choices(cl))
    djangos = list(super(OrganizationFilter, spec).choices(cl))
    assert [(c["query_string"], str(c["display"]), c["selected"]) for c in ours] == [
        (c["query_string"], str(c["display"]), c["selected"]) for c in djangos
    ]
    assert any(c["display"] == "Zeta & Co" for c in ours)


# --- ordering and rows --------------------------------------------------------------------


def test_sla_sorted_descending_breaks_ties_like_its_index(charlie):
    request = RequestFactory().get(CHANGELIST, {"o": "-7"})
    request.user = charlie
    from django.contrib import admin

    cl = admin.site._registry[Ticket].get_changelist_instance(request)
    ordering = ChangeList.get_ordering(cl, request, Ticket.objects.all())
    assert ordering[0].descending
    sql = str(cl.queryset.query).split("ORDER BY")[1]
    assert sql.endswith('"tickets_ticket"."received_at" DESC, "tickets_ticket"."id" DESC')


def test_priority_badges_follow_the_language():
    with translation.override("en"):
        english = priority_badge("P1", "")
    with translation.override("fr"):
        french = priority_badge("P1", "")
    assert "untriaged" in english and english != french
    assert "ticket-prio-P2" in priority_badge("P1", "P2")
    assert "untriaged" not in priority_badge("P1", None)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("zone", ["Europe/London", "America/Los_Angeles"])
def test_deadlines_read_as_djangos_date_format(language, zone):
    value = datetime.datetime(2026, 7, 3, 16, 5, tzinfo=datetime.UTC)
    with translation.override(language), timezone.override(zone):
        pattern = translation.pgettext("deadline date format", "D j M Y H:i T")
        expected = formats.date_format(timezone.localtime(value), pattern)
        assert event_text.moment(value) == expected
        assert event_text.moment(value.isoformat()) == expected


def test_the_desk_shows_each_agent_once_per_value_not_per_query(client, charlie, org):
    agents = StaffFactory.create_batch(2)
    for i in range(6):
        TicketFactory(organization=org, assignee=agents[i % 2], status=Status.OPEN)
    client.force_login(charlie)
    html = client.get(CHANGELIST).content.decode()
    for agent in agents:
        assert html.count(f'<td class="field-assignee nowrap">{agent}</td>') == 3


def test_a_second_chosen_column_still_breaks_the_sla_columns_ties(charlie):
    request = RequestFactory().get(CHANGELIST, {"o": "-7.4"})
    request.user = charlie
    from django.contrib import admin

    cl = admin.site._registry[Ticket].get_changelist_instance(request)
    sql = str(cl.queryset.query).split("ORDER BY")[1]
    assert '"tickets_ticket"."priority" ASC' in sql
