"""Counts that do not scan, keyset pages in the API beside ?page=, and admin orderings that an
index serves. The count cap is lowered so a handful of rows stands for a large list."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import Context, Template

from core import paging
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 12, 0, tzinfo=datetime.UTC)
TICKETS = "/api/v1/tickets/"
CAP = 5


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(paging, "COUNT_CAP", CAP)


@pytest.fixture
def many(org):
    """Nine tickets; a third without a response deadline, two sharing one deadline."""
    made = []
    for n in range(9):
        due = None if n % 3 == 0 else NOW + datetime.timedelta(hours=n // 2)
        made.append(
            TicketFactory(
                organization=org,
                received_at=NOW - datetime.timedelta(hours=n % 4),  # ties broken by id
                response_due_at=due,
            )
        )
    return made


def test_an_empty_queryset_counts_nothing(many, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert paging.capped_count(Ticket.objects.none()) == 0


def test_small_counts_are_exact(many, small_cap):
    assert paging.capped_count(Ticket.objects.filter(pk__in=[t.pk for t in many[:4]])) == 4


def test_large_counts_stop_at_the_cap_and_say_so(many, small_cap):
    count = paging.capped_count(Ticket.objects.all())
    assert not paging.is_exact(count)
    assert count > CAP
    assert str(count) == "5+"
    assert Template("{{ n }} tickets").render(Context({"n": count})) == "5+ tickets"


def test_the_planner_is_asked_first(many, small_cap, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        paging.estimate(Ticket.objects.all())
    assert captured.captured_queries[0]["sql"].startswith("EXPLAIN")


def test_the_count_reads_at_most_cap_plus_one_rows(
    many, small_cap, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(paging, "estimate", lambda queryset: CAP - 1)  # an underestimate
    with django_assert_num_queries(1) as captured:
        count = paging.capped_count(Ticket.objects.all())
    assert f"LIMIT {CAP + 1}" in captured.captured_queries[0]["sql"]
    assert count == CAP + 1 and not paging.is_exact(count)


def test_an_overestimate_below_the_trusted_range_is_counted_exactly(
    many, monkeypatch, django_assert_num_queries
):
    # A fresh table without statistics can look bigger to the planner than it is.
    monkeypatch.setattr(paging, "estimate", lambda queryset: 3_500)
    with django_assert_num_queries(1):
        count = paging.capped_count(Ticket.objects.all())
    assert count == len(many) and paging.is_exact(count)


def test_a_surely_large_list_is_not_counted(many, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(paging, "estimate", lambda queryset: 2_000_000)
    with django_assert_num_queries(0):
        count = paging.capped_count(Ticket.objects.all())
    assert count == 2_000_000 and not paging.is_exact(count)
    assert str(count) == "10,000+"


def walk(client, url, direction="next"):
    """Follow links from `url`; the references in the order the pages gave them."""
    seen, pages = [], 0
    while url:
        body = client.get(url).json()
        assert "count" in body and "results" in body
        seen += [row["reference"] for row in body["results"]]
        url, pages = body[direction], pages + 1
        assert pages < 20
    return seen


def all_in_order(client, ordering=""):
    query = f"?page_size=200&page=1{'&ordering=' + ordering if ordering else ''}"
    return [row["reference"] for row in client.get(TICKETS + query).json()["results"]]


@pytest.mark.parametrize(
    "ordering",
    ["", "received_at", "-received_at", "response_due_at", "-response_due_at", "-priority"],
)
def test_cursor_links_walk_every_ticket_once_in_order(many, small_cap, charlie, ordering):
    client = api_for(charlie)
    first = TICKETS + f"?page_size=2{'&ordering=' + ordering if ordering else ''}"
    body = client.get(first).json()
    assert "cursor=" in body["next"]
    assert body["previous"] is None
    assert walk(client, first) == all_in_order(client, ordering)


@pytest.mark.parametrize("ordering", ["-received_at", "response_due_at", "-response_due_at"])
def test_previous_links_walk_back_to_the_start(many, small_cap, charlie, ordering):
    client = api_for(charlie)
    url = TICKETS + f"?page_size=2&ordering={ordering}"
    last_url = None
    while url:
        last_url, url = url, client.get(url).json()["next"]
    backwards = client.get(last_url).json()
    tail = [row["reference"] for row in backwards["results"]]
    walked = walk(client, backwards["previous"], "previous")
    pages = [walked[i : i + 2] for i in range(0, len(walked), 2)]
    rebuilt = [ref for page in reversed(pages) for ref in page] + tail
    assert rebuilt == all_in_order(client, ordering)


def test_page_numbers_keep_working_and_keep_page_links(many, small_cap, charlie):
    body = api_for(charlie).get(TICKETS + "?page=2&page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert parse_qs(urlsplit(body["next"]).query)["page"] == ["3"]
    assert len(body["results"]) == 2


def test_small_lists_keep_page_links(many, charlie):
    body = api_for(charlie).get(TICKETS + "?page_size=2").json()
    assert body["count"] == len(many)
    assert parse_qs(urlsplit(body["next"]).query)["page"] == ["2"]


def test_a_cursor_page_costs_a_fixed_number_of_queries(
    many, small_cap, charlie, django_assert_max_num_queries
):
    client = api_for(charlie)
    second = client.get(TICKETS + "?page_size=2").json()["next"]
    with django_assert_max_num_queries(6):
        assert client.get(second).status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "WzEsMl0=", "WyJub3QgYSBkYXRlIiwgMSwgZmFsc2Vd"])
def test_a_bad_cursor_is_a_400_naming_it(many, small_cap, charlie, cursor):
    response = api_for(charlie).get(TICKETS + f"?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_a_client_pages_only_its_organization(many, small_cap, alice, bob):
    TicketFactory.create_batch(7, organization=bob.organization)
    mine = walk(api_for(alice), TICKETS + "?page_size=2")
    assert sorted(mine) == sorted(t.reference for t in many)


# -- admin ------------------------------------------------------------------------------------


def test_admin_sorts_only_on_indexed_columns(client, charlie, many):
    client.force_login(charlie)
    response = client.get("/admin/tickets/ticket/")
    admin = response.context["cl"].model_admin
    names = set(admin.get_sortable_by(response.wsgi_request))
    assert {"reference", "priority_badge", "sla_countdown"} <= names
    assert not names & {"subject_cell", "organization_cell", "assignee", "status", "channel"}


def test_admin_ascending_sort_breaks_ties_in_the_same_direction(client, charlie, many):
    client.force_login(charlie)
    display = list(client.get("/admin/tickets/ticket/").context["cl"].list_display)
    column = display.index("priority_badge")
    response = client.get("/admin/tickets/ticket/", {"o": str(column)})
    assert list(response.context["cl"].queryset.query.order_by)[-2:] == ["priority", "pk"]
