"""What a write costs: queries per API creation once warm, the outbox rows of a burst handed to
workers in few tasks, the flood limit counted in one cache call while under it."""

import pytest
from django.core.cache import cache

from notifications import delivery, handoff, tasks
from notifications.models import Notification
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tickets import limits

TICKETS = "/api/v1/tickets/"
pytestmark = pytest.mark.django_db


def _create(client, n: int) -> None:
    data = {"subject": f"Replay {n}", "description": "Replay lags.", "priority": "P1"}
    assert client.post(TICKETS, data, format="json").status_code == 201


def test_a_warm_api_creation_takes_at_most_six_queries(alice, django_assert_max_num_queries):
    client = api_for(alice)
    _create(client, 0)  # cold in-process caches (calendar, targets, webhook subscribers)
    # Token with its user and plan; savepoint; ticket; events; outbox rows; release.
    with django_assert_max_num_queries(6):
        _create(client, 1)
    assert Notification.objects.filter(ticket__subject="Replay 1").exists()


@pytest.fixture
def published(monkeypatch, settings):
    """The delivery tasks this process publishes: (ids,) of each."""
    settings.NOTIFICATIONS_QUEUE_ON_COMMIT = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    calls = []
    monkeypatch.setattr(tasks.deliver, "apply_async", lambda args, **kw: calls.append(args))
    # The queueing thread waits longer than the test: the test flushes when it chooses.
    monkeypatch.setattr(handoff._Pending, "WINDOW", 600)
    handoff.pending.flush()
    return calls


def test_the_outbox_rows_of_a_burst_go_to_one_task(
    alice, published, django_capture_on_commit_callbacks
):
    client = api_for(alice)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            _create(client, n)
    assert published == []  # waiting for the window to close
    handoff.pending.flush()
    ids = sorted(Notification.objects.values_list("pk", flat=True))
    assert len(ids) >= 3
    assert [sorted(args[0]) for args in published] == [ids]


def test_a_large_burst_is_split_into_tasks_of_one_delivery_batch(published):
    handoff.pending.add(list(range(1, 2 * delivery.BATCH + 2)))
    handoff.pending.flush()
    assert [len(args[0]) for args in published] == [delivery.BATCH, delivery.BATCH, 1]


def test_eager_mode_queues_at_commit(published, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    handoff.pending.add([7, 8])
    assert published == [([7, 8],)]


def test_the_flood_limit_refuses_past_the_limit_and_counts_on(alice, settings):
    settings.TICKETS_PER_USER_PER_HOUR = 2
    limits.check_new_ticket(alice)
    limits.check_new_ticket(alice)
    for _ in range(2):
        with pytest.raises(limits.TooManyTickets) as refused:
            limits.check_new_ticket(alice)
        assert 3500 < refused.value.retry_after <= 3600
    name = limits.ratelimit.key("tickets-user", alice.pk)
    assert cache.get(name) == 4
