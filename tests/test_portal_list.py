"""The ticket list: tenancy, search, filters, paging and a bounded number of queries."""

import datetime

import pytest
import time_machine

from tests.factories import TicketFactory
from tickets.models import Status

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def refs(response):
    return [t.reference for t in response.context["page"].object_list]


def test_list_shows_only_the_clients_organization(client, alice, bob, org, other_org):
    mine = TicketFactory(organization=org, subject="Acme replay broken")
    theirs = TicketFactory(organization=other_org, subject="Globex heatmap broken")
    client.force_login(bob)
    response = client.get("/")
    assert refs(response) == [theirs.reference]
    assert "Acme replay broken" not in response.content.decode()
    client.force_login(alice)
    assert refs(client.get("/")) == [mine.reference]


def test_staff_see_every_organizations_tickets(client, charlie, org, other_org):
    TicketFactory(organization=org)
    TicketFactory(organization=other_org)
    client.force_login(charlie)
    response = client.get("/")
    assert len(refs(response)) == 2
    assert "Globex" in response.content.decode()


def test_search_by_reference_is_an_exact_match(alice_client, org):
    tickets = [TicketFactory(organization=org) for _ in range(12)]
    wanted = tickets[0]  # CS-...1 must not also match CS-...10, 11, 12
    response = alice_client.get("/", {"q": wanted.reference, "filtered": "1"})
    assert refs(response) == [wanted.reference]


def test_search_by_reference_of_another_organization_finds_nothing(alice_client, other_org):
    theirs = TicketFactory(organization=other_org)
    assert refs(alice_client.get("/", {"q": theirs.reference, "filtered": "1"})) == []


def test_search_by_word_matches_subject_or_description(alice_client, org):
    by_subject = TicketFactory(organization=org, subject="Zoning overlay missing")
    by_text = TicketFactory(organization=org, subject="Odd", description="the zoning view hangs")
    TicketFactory(organization=org, subject="Login problem", description="SSO fails")
    response = alice_client.get("/", {"q": "zoning", "filtered": "1"})
    assert sorted(refs(response)) == sorted([by_subject.reference, by_text.reference])


def test_first_visit_shows_open_tickets_only(alice_client, org):
    active = TicketFactory(organization=org, status=Status.PENDING)
    TicketFactory(organization=org, status=Status.RESOLVED)
    TicketFactory(organization=org, status=Status.CLOSED)
    response = alice_client.get("/")
    assert refs(response) == [active.reference]
    assert response.context["form"]["open_only"].value() is True


def test_unticking_open_only_shows_resolved_and_closed_too(alice_client, org):
    for status in (Status.NEW, Status.RESOLVED, Status.CLOSED):
        TicketFactory(organization=org, status=status)
    assert len(refs(alice_client.get("/", {"filtered": "1"}))) == 3


def test_filters_by_status_priority_and_feature(alice_client, org):
    target = TicketFactory(
        organization=org, status=Status.RESOLVED, priority="P0", feature="heatmaps"
    )
    TicketFactory(organization=org, status=Status.RESOLVED, priority="P0", feature="zoning")
    TicketFactory(organization=org, status=Status.RESOLVED, priority="P2", feature="heatmaps")
    TicketFactory(organization=org, status=Status.OPEN, priority="P0", feature="heatmaps")
    response = alice_client.get(
        "/",
        {
            "filtered": "1",
            "open_only": "on",
            "status": "resolved",
            "priority": "P0",
            "feature": "heatmaps",
        },
    )
    assert refs(response) == [target.reference]


def test_unknown_filter_values_are_ignored_not_an_error(alice_client, org):
    TicketFactory(organization=org)
    response = alice_client.get("/", {"filtered": "1", "priority": "P9", "page": "x"})
    assert response.status_code == 200
    assert len(refs(response)) == 1


def test_list_pages_by_25_and_keeps_the_filters_in_page_links(alice_client, org):
    for i in range(30):
        TicketFactory(organization=org, subject=f"Replay gap {i}")
    TicketFactory(organization=org, subject="Unrelated")
    first = alice_client.get("/", {"q": "replay", "filtered": "1"})
    assert len(refs(first)) == 25
    assert first.context["page"].paginator.count == 30
    html = first.content.decode()
    assert "q=replay&amp;filtered=1&amp;page=2" in html
    second = alice_client.get("/", {"q": "replay", "filtered": "1", "page": "2"})
    assert len(refs(second)) == 5
    assert not set(refs(first)) & set(refs(second))


def test_newest_tickets_come_first(alice_client, org):
    old = TicketFactory(organization=org, received_at=NOW - datetime.timedelta(days=2))
    new = TicketFactory(organization=org, received_at=NOW - datetime.timedelta(hours=1))
    assert refs(alice_client.get("/")) == [new.reference, old.reference]


def test_rows_show_priority_status_and_sla(alice_client, org):
    TicketFactory(
        organization=org,
        priority="P0",
        status=Status.OPEN,
        response_clock="clock",
        response_due_at=NOW - datetime.timedelta(hours=1),
    )
    html = alice_client.get("/").content.decode()
    assert 'class="badge prio-p0"' in html
    assert 'class="badge status-open"' in html
    assert "overdue" in html  # the SLA include, for a response deadline an hour ago


@pytest.mark.parametrize("rows", [3, 30])
def test_list_query_count_does_not_grow_with_rows(
    client, charlie, alice, org, other_org, rows, django_assert_max_num_queries
):
    for i in range(rows):
        TicketFactory(organization=org if i % 2 else other_org)
    for user in (alice, charlie):  # staff also see the organization column
        client.force_login(user)
        with django_assert_max_num_queries(7):
            response = client.get("/")
        assert response.status_code == 200
