"""The portal list's tab counts: exact up to the cap, "N+" above it, however they are
derived (Resolved is All minus Open unless Open itself is over the cap)."""

import sys

import pytest

from tests.factories import ClientFactory, TicketFactory

pytestmark = pytest.mark.django_db

CAP = 3


@pytest.fixture
def small_cap(monkeypatch):
    from tickets import views

    monkeypatch.setattr(views, "COUNT_CAP", CAP)
    # CappedCount prints "<cap>+" with its own module's cap, wherever that module lives.
    monkeypatch.setattr(sys.modules[views.CappedCount.__module__], "COUNT_CAP", CAP)


@pytest.fixture
def dana():
    return ClientFactory(username="dana")


def tickets(user, **per_status):
    for status, n in per_status.items():
        for _ in range(n):
            TicketFactory(organization=user.organization, reporter=user, status=status)


def shown_counts(client, user) -> dict:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return {tab["name"]: str(tab["count"]) for tab in response.context["tabs"]}


def test_small_lists_are_counted_exactly(client, dana, small_cap):
    tickets(dana, open=1, pending=1, resolved=1)
    TicketFactory(status="closed")  # another organization's
    assert shown_counts(client, dana) == {"open": "2", "waiting": "1", "resolved": "1", "all": "3"}


def test_resolved_is_all_minus_open_and_capped_above_the_cap(client, dana, small_cap):
    tickets(dana, open=1, pending=1, resolved=3, closed=2)
    assert shown_counts(client, dana) == {
        "open": "2",
        "waiting": "1",
        "resolved": "3+",
        "all": "3+",
    }


def test_all_over_the_cap_leaves_a_small_resolved_count_exact(client, dana, small_cap):
    tickets(dana, open=2, resolved=2)
    assert shown_counts(client, dana) == {"open": "2", "waiting": "0", "resolved": "2", "all": "3+"}


def test_open_over_the_cap_counts_resolved_on_its_own(client, dana, small_cap):
    tickets(dana, new=2, open=2, closed=1)
    assert shown_counts(client, dana) == {
        "open": "3+",
        "waiting": "0",
        "resolved": "1",
        "all": "3+",
    }


def test_a_client_without_an_organization_sees_zeros(client, small_cap):
    loner = ClientFactory(username="loner")
    loner.organization = None
    loner.save(update_fields=["organization"])
    tickets_elsewhere = TicketFactory(status="open")
    assert tickets_elsewhere.pk
    assert shown_counts(client, loner) == {"open": "0", "waiting": "0", "resolved": "0", "all": "0"}


def test_the_counts_are_two_queries_however_many_tickets(
    client, dana, small_cap, django_assert_max_num_queries
):
    tickets(dana, open=2, closed=5)
    client.force_login(dana)
    with django_assert_max_num_queries(7):  # as tests/test_portal_list.py: counts are two
        assert client.get("/").status_code == 200
