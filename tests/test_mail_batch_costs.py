"""What a batch of inbound mail costs: its system notes written at once, its senders' flood
limits read and counted in a few round trips of the shared cache, with the same outcomes."""

import os

import pytest
from django.core.cache import cache
from django.test import TestCase

from core import ratelimit
from tests.isolation import redis_key_prefix
from tests.mail import eml
from tickets.limits import WINDOW, MailSenderLimit, mail_sender_over_limit
from tickets.mail.pipeline import process, process_many
from tickets.mail.store import store
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _new(n: int) -> bytes:
    return eml("plain_new.eml", **{"<CAF1x2plain@": f"<cost-{n}@", "Heatmap": f"Map {n}"})


def _stored(raws, to="support@eservice.example") -> list[int]:
    return [store(raw, None, [to])[0].pk for raw in raws]


def _notes() -> list[tuple[str, str]]:
    notes = Comment.objects.filter(internal=True, author=None).order_by("ticket__subject")
    return [(c.ticket.subject, c.body) for c in notes.select_related("ticket")]


def test_a_batchs_system_notes_are_those_of_one_message_at_a_time(alice, settings):
    settings.TICKETS_PER_SENDER_PER_HOUR = 100
    # Sent to the standard plan's address by a platinum client: each ticket gets a note.
    for pk in _stored([_new(n) for n in range(3)]):
        process(pk)
    one_at_a_time = _notes()
    Ticket.objects.all().delete()
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(_stored([_new(n + 10) for n in range(3)]))
    assert [m.status for m in results] == ["done"] * 3
    batched = _notes()
    assert len(one_at_a_time) == 3 and [b for _, b in batched] == [b for _, b in one_at_a_time]
    assert all("Sent to the standard address" in body for _, body in batched), batched


def test_a_batch_with_a_note_per_ticket_costs_a_constant_number_of_queries(
    alice, django_assert_max_num_queries, settings
):
    settings.TICKETS_PER_SENDER_PER_HOUR = 100
    process_many(_stored([_new(0)]))
    pks = _stored([_new(n) for n in range(1, 31)])
    with django_assert_max_num_queries(22):
        with TestCase.captureOnCommitCallbacks(execute=True):
            process_many(pks)
    assert Ticket.objects.count() == 31
    assert Comment.objects.filter(internal=True, author=None).count() == 31


def test_a_batch_counts_each_sender_in_order_and_once(alice, settings):
    settings.TICKETS_PER_SENDER_PER_HOUR = 3
    process(_stored([_new(0)])[0])  # one counted before the batch
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(_stored([_new(n) for n in range(1, 5)]))
    assert [m.status for m in results] == ["done", "done", "quarantined", "quarantined"]
    assert Ticket.objects.count() == 3
    name = ratelimit.key("tickets-mail", alice.email)
    assert ratelimit.hits_many([name], WINDOW) == {name: 3}
    # Routed again (a retry by staff), a counted message is not counted twice.
    assert mail_sender_over_limit(alice.email, results[0].pk) is True
    assert ratelimit.hits_many([name], WINDOW) == {name: 3}


def test_the_limit_counts_nothing_until_flushed_and_each_message_once():
    limit = MailSenderLimit()
    limit.read([("a@x.example", 1), ("a@x.example", 2), ("b@x.example", 3)])
    assert [limit.over_limit("a@x.example", pk) for pk in (1, 1, 2)] == [False] * 3
    name = ratelimit.key("tickets-mail", "a@x.example")
    assert ratelimit.hits_many([name], WINDOW) == {name: 0}
    limit.flush()
    assert ratelimit.hits_many([name], WINDOW) == {name: 2}
    again = MailSenderLimit()
    assert again.over_limit("a@x.example", 2) is False
    again.flush()
    assert ratelimit.hits_many([name], WINDOW) == {name: 2}


@pytest.fixture
def redis_cache(settings):
    prefix = redis_key_prefix("limits")
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.PrefixedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield cache
    cache.clear()


def test_hit_many_on_redis_opens_windows_and_adds_in_one_round_trip(redis_cache, monkeypatch):
    ratelimit.hit("ratelimit:test:open", 60)
    calls = []
    real = redis_cache._cache.get_client
    monkeypatch.setattr(
        redis_cache._cache, "get_client", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    ratelimit.hit_many({"ratelimit:test:open": 2, "ratelimit:test:new": 3}, 60)
    assert len(calls) == 1
    hits = ratelimit.hits_many(["ratelimit:test:open", "ratelimit:test:new"], 60)
    assert hits == {"ratelimit:test:open": 3, "ratelimit:test:new": 3}
    # Same counter as hit() and wait_seconds() read.
    assert ratelimit.wait_seconds("ratelimit:test:new", 3, 60) > 0
    ttl = real(None).ttl(redis_cache.make_and_validate_key("ratelimit:test:new"))
    assert 0 < ttl <= 60


def test_the_flood_limit_on_redis_refuses_past_the_limit(redis_cache, settings):
    settings.TICKETS_PER_SENDER_PER_HOUR = 2
    limit = MailSenderLimit()
    assert [limit.over_limit("c@x.example", pk) for pk in (1, 2, 3)] == [False, False, True]
    limit.flush()
    assert mail_sender_over_limit("c@x.example", 4) is True
    assert mail_sender_over_limit("d@x.example", 5) is False


def _reply(n: int, reference: str) -> bytes:
    return eml(
        "plain_new.eml",
        **{
            "<CAF1x2plain@": f"<cost-reply-{n}@",
            "Subject: Heatmap not loading": f"Subject: Re: [{reference}] still blank {n}",
        },
    )


def test_a_batch_of_replies_reads_the_escalation_warnings_once(alice, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.TICKETS_PER_SENDER_PER_HOUR = 100
    process_many(_stored([_new(n) for n in range(20)]))
    tickets = list(Ticket.objects.order_by("pk"))
    pks = _stored([_reply(n, t.reference) for n, t in enumerate(tickets)])
    with CaptureQueriesContext(connection) as queries:
        with TestCase.captureOnCommitCallbacks(execute=True):
            results = process_many(pks)
    assert [m.status for m in results] == ["done"] * 20
    assert Comment.objects.filter(internal=False).count() == 20
    sqls = [q["sql"] for q in queries.captured_queries]
    # Each reply's next check is its response warning: one read of the warnings sent for all.
    assert len([sql for sql in sqls if "escalation_escalationevent" in sql]) == 1
    assert len(sqls) <= 20, sqls
