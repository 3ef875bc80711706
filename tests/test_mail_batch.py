"""process_many(): one transaction per batch, one savepoint per message, same outcomes."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import TestCase

from tests.mail import auto_replies, eml
from tickets.mail import actions, parse, pipeline
from tickets.mail.models import AutoReply, InboundMessage, InboundStatus
from tickets.mail.pipeline import process, process_many
from tickets.mail.store import store, store_many
from tickets.mail.tasks import process_inbound_batch
from tickets.models import OutboundMessage, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _new(n: int, subject: str = "Heatmap not loading on the pricing page") -> bytes:
    return eml(
        "plain_new.eml",
        **{
            "<CAF1x2plain@": f"<batch-{n}@",
            "Subject: Heatmap not loading on the pricing page": f"Subject: {subject}",
        },
    )


def _stored(*raws) -> list[int]:
    return [store(raw, None, ["premier@eservice.example"])[0].pk for raw in raws]


@pytest.fixture
def ack_fails_for_boom(monkeypatch):
    """The acknowledgement of a "BOOM" message is written to the outbox with its ticket,
    then its processing fails."""
    real = actions.after_opening

    def after_opening(intake, ticket, follows=None):
        real(intake, ticket, follows)
        if "BOOM" in intake.env.subject:
            raise RuntimeError("late failure")

    monkeypatch.setattr(actions, "after_opening", after_opening)


def test_a_failing_message_mid_batch_is_recorded_and_the_others_succeed(alice, ack_fails_for_boom):
    pks = _stored(_new(1), _new(2, "BOOM heatmap"), _new(3))
    with TestCase.captureOnCommitCallbacks(execute=True) as hooks:
        results = process_many(pks)
    assert [m.status for m in results] == ["done", "failed", "done"]
    failed = InboundMessage.objects.get(pk=pks[1])
    assert failed.error == "RuntimeError: late failure" and "Traceback" in failed.traceback
    assert failed.attempts == 1 and failed.ticket is None and failed.processed_at
    # Its ticket, audit events, rate-limit row and outbound row were rolled back with it...
    assert set(Ticket.objects.values_list("subject", flat=True)) == {
        "Heatmap not loading on the pricing page"
    }
    assert Ticket.objects.count() == 2 and AutoReply.objects.count() == 2
    assert TicketEvent.objects.filter(action="opened").count() == 2
    # ...and its acknowledgement left the outbox with it: only the other two were sent.
    assert len(auto_replies()) == 2 and all("BOOM" not in m.subject for m in auto_replies())
    assert OutboundMessage.objects.filter(kind="ack").count() == 2
    assert len(hooks) >= 2


def test_a_batch_processed_again_changes_nothing(alice, ack_fails_for_boom):
    pks = _stored(_new(1), _new(2, "BOOM heatmap"), _new(3))
    with TestCase.captureOnCommitCallbacks(execute=True):
        process_many(pks)
    before = list(InboundMessage.objects.order_by("pk").values_list("pk", "status", "attempts"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        process_many([pks[0], pks[2], pks[0]])
    after = list(InboundMessage.objects.order_by("pk").values_list("pk", "status", "attempts"))
    assert after == before
    assert Ticket.objects.count() == 2 and len(auto_replies()) == 2


def test_a_failed_message_is_retried_by_the_next_batch(alice, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database hiccup")

    pks = _stored(_new(1), _new(2))
    monkeypatch.setattr("tickets.mail.pipeline.services.open_ticket", boom)
    monkeypatch.setattr("tickets.mail.pipeline.services.open_tickets", boom)
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert [m.status for m in process_many(pks)] == ["failed", "failed"]
    monkeypatch.undo()
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert [(m.status, m.error, m.attempts) for m in results] == [("done", "", 2)] * 2
    assert Ticket.objects.count() == 2 and len(auto_replies()) == 2


def test_a_batch_has_the_outcomes_of_one_message_at_a_time(alice, org):
    pks = _stored(
        _new(1),
        eml("auto_reply.eml"),
        eml("unknown_sender.eml"),
        eml("new_contact.eml"),
        eml("forbidden_exe.eml"),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks, batch_size=2)
    assert [m.pk for m in results] == pks
    assert [m.status for m in results] == [
        InboundStatus.DONE,
        InboundStatus.IGNORED,
        InboundStatus.QUARANTINED,
        InboundStatus.DONE,
        InboundStatus.DONE,
    ]


def test_the_same_sender_in_one_batch_is_acknowledged_within_the_hourly_limit(alice):
    pks = _stored(*[_new(n) for n in range(pipeline.ACKS_PER_HOUR + 3)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert {m.status for m in results} == {InboundStatus.DONE}
    assert Ticket.objects.filter(reporter=alice).count() == pipeline.ACKS_PER_HOUR + 3
    assert len(auto_replies()) == pipeline.ACKS_PER_HOUR


def test_a_missing_pk_is_skipped(alice):
    pks = _stored(_new(1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many([pks[0] + 1000, *pks])
    assert [m.pk for m in results] == pks and results[0].status == InboundStatus.DONE


def test_the_celery_batch_task_counts_outcomes(alice):
    pks = _stored(_new(1), eml("auto_reply.eml"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert process_inbound_batch(pks) == {"done": 1, "ignored": 1}


@pytest.mark.django_db(transaction=True)
def test_a_committed_batch_sends_each_acknowledgement_once(alice, ack_fails_for_boom):
    pks = _stored(_new(1), _new(2, "BOOM heatmap"), _new(3))
    process_many(pks)
    assert len(auto_replies()) == 2
    sent = OutboundMessage.objects.filter(kind="ack")
    assert sent.count() == 2 and all(m.sent_at for m in sent)
    process_many(pks[:1] + pks[2:])
    assert len(auto_replies()) == 2


def _reply_to(n: int, to_n: int) -> bytes:
    raw = _new(n, "Re: Heatmap not loading on the pricing page")
    return raw.replace(
        b"MIME-Version: 1.0",
        f"In-Reply-To: <batch-{to_n}@mail.acme.example>\nMIME-Version: 1.0".encode(),
        1,
    )


def _mixed_batch() -> list[bytes]:
    return [
        _new(1),
        _new(2, "Replay frozen"),
        eml("auto_reply.eml"),
        eml("unknown_sender.eml"),
        eml("new_contact.eml"),
        _reply_to(3, 1),  # threads to the ticket message 1 opens in the same batch
        eml("new_contact.eml", **{"<newcontact-1@": "<newcontact-2@"}),
        _new(4, "Funnel empty"),
    ]


def _unref(subject: str) -> str:
    return re.sub(r"\[CS-\d+\]", "[CS-…]", subject)


def _outcome(pks) -> dict:
    """What processing did, independent of pks: per message, and the rows it wrote."""
    messages = list(InboundMessage.objects.filter(pk__in=pks).order_by("pk"))
    opener = {m.ticket_id: i for i, m in enumerate(messages) if m.reason == "new ticket"}
    return {
        "messages": [
            (m.status, m.reason, opener.get(m.ticket_id), m.comment_id is not None, m.attempts)
            for m in messages
        ],
        "contacts": sorted(
            get_user_model()
            .objects.filter(email__iexact="dave.durand@acme.example")
            .values_list("email", flat=True)
        ),
        "auto_replies": sorted(AutoReply.objects.values_list("address", "kind")),
        "outbound": sorted(
            (k, _unref(s)) for k, s in OutboundMessage.objects.values_list("kind", "subject")
        ),
        "unsent": OutboundMessage.objects.filter(sent_at__isnull=True).count(),
        "events": TicketEvent.objects.count(),
        "mails": sorted(_unref(m.subject) for m in auto_replies()),
    }


def test_a_mixed_batch_has_the_outcome_of_one_message_at_a_time(alice, org):
    with transaction.atomic():
        pks = _stored(*_mixed_batch())
        for pk in pks:
            with TestCase.captureOnCommitCallbacks(execute=True):
                process(pk)
        one_at_a_time = _outcome(pks)
        transaction.set_rollback(True)
    mail.outbox = []
    pks = _stored(*_mixed_batch())
    with TestCase.captureOnCommitCallbacks(execute=True):
        process_many(pks)
    batched = _outcome(pks)
    assert batched == one_at_a_time
    statuses = [s for s, *_ in batched["messages"]]
    assert statuses == ["done", "done", "ignored", "quarantined", "done", "done", "done", "done"]
    # The reply threads to the ticket of message 1; the second mail of the new contact
    # finds the contact the first one created.
    assert batched["messages"][5][1:4] == ("reply", 0, True)
    assert len(batched["contacts"]) == 1


def test_a_batch_records_acknowledgements_at_once_and_marks_them_sent(alice):
    pks = _stored(*[_new(n, f"Heatmap {n}") for n in range(4)])
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert {m.status for m in results} == {InboundStatus.DONE}
    assert len(auto_replies()) == 4
    acks = OutboundMessage.objects.filter(kind="ack")
    assert acks.count() == 4 and all(m.sent_at for m in acks)
    assert sorted(m.ticket_id for m in acks) == sorted(m.ticket_id for m in results)
    assert len(auto_replies()) == 4
    assert {m.extra_headers["Message-ID"] for m in auto_replies()} == {m.message_id for m in acks}


def test_a_batch_of_new_tickets_costs_a_constant_number_of_queries(
    alice, django_assert_max_num_queries, settings
):
    settings.TICKETS_PER_SENDER_PER_HOUR = 100  # one sender, 31 tickets: above the flood limit
    process_many(_stored(_new(0, "warm-up")))
    pks = _stored(*[_new(n, f"Heatmap {n}") for n in range(1, 31)])
    with django_assert_max_num_queries(20):
        with TestCase.captureOnCommitCallbacks(execute=True):
            process_many(pks)
    assert Ticket.objects.count() == 31


def test_store_many_parses_each_message_once(alice, monkeypatch):
    pks = [
        m.pk for m in store_many([(_new(n), None, ["premier@eservice.example"]) for n in range(3)])
    ]
    calls = []
    real = parse.parse
    monkeypatch.setattr(parse, "parse", lambda raw: calls.append(raw) or real(raw))
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert [m.status for m in results] == ["done"] * 3 and calls == []
