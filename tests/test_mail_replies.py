"""Replies in a batch: written together through services.add_comments(), same outcomes."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from tests.factories import CommentFactory, TicketFactory
from tests.mail import eml
from tickets import services
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.mail.pipeline import process, process_many
from tickets.mail.reply_tokens import reply_address
from tickets.mail.store import _row, store, store_many
from tickets.models import Comment, Status, Ticket

pytestmark = pytest.mark.django_db


def _mail(
    n: int, subject: str, *, sender: str = "", in_reply_to: int | None = None, cc: str = ""
) -> bytes:
    raw = eml(
        "plain_new.eml",
        **{
            "<CAF1x2plain@": f"<reply-{n}@",
            "Subject: Heatmap not loading on the pricing page": f"Subject: {subject}",
        },
    )
    if sender:
        raw = raw.replace(b"From: Alice Martin <alice@acme.example>", f"From: <{sender}>".encode())
    if cc:
        raw = raw.replace(b"MIME-Version: 1.0", f"Cc: <{cc}>\nMIME-Version: 1.0".encode(), 1)
    if in_reply_to is not None:
        header = f"In-Reply-To: <reply-{in_reply_to}@mail.acme.example>\nMIME-Version: 1.0"
        raw = raw.replace(b"MIME-Version: 1.0", header.encode(), 1)
    return raw


def _stored(*raws) -> list[int]:
    return [store(raw, None, ["premier@eservice.example"])[0].pk for raw in raws]


def _resolved_ticket(charlie) -> Ticket:
    """A ticket opened by mail (message 1), answered and resolved by staff."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        opened = process(_stored(_mail(1, "Heatmap blank"))[0])
    services.resolve(opened.ticket, actor=charlie, resolution="Fixed")
    return opened.ticket


def _replies(charlie, ticket) -> list[bytes]:
    # Staff act by mail only through their signed reply address (spec 8).
    signed = reply_address("premier", "eservice.example", user_id=charlie.pk, ticket_id=ticket.pk)
    return [
        _mail(2, "Re: Heatmap blank", in_reply_to=1),  # reopens the resolved ticket
        _mail(3, "Re: Heatmap blank", sender=charlie.email, in_reply_to=1, cc=signed),
        _mail(4, "Re: Heatmap blank", in_reply_to=3),  # threads by the comment of message 3
        eml("auto_reply.eml"),
        _mail(5, "Re: Heatmap blank", in_reply_to=2),
    ]


def _outcome(ticket, pks) -> dict:
    ticket.refresh_from_db()
    messages = InboundMessage.objects.filter(pk__in=pks).order_by("pk")
    return {
        "ticket": (ticket.status, ticket.resolved_at, ticket.first_response_at is not None),
        "messages": [
            (m.status, m.reason, m.ticket_id == ticket.pk, m.comment.body if m.comment else None)
            for m in messages
        ],
        "comments": [
            (c.author_id, c.body, c.internal, c.channel, c.message_id)
            for c in Comment.objects.filter(ticket=ticket).order_by("id")
        ],
        "events": [
            (e.actor_id, e.kind, e.action, e.field, e.old_value, e.new_value, e.note, e.public)
            for e in ticket.events.order_by("id")
            if e.field not in ("updated_at",)
        ],
        "tickets": Ticket.objects.count(),
        "mails": sorted(re.sub(r"CS-\d+", "CS-…", m.subject) for m in mail.outbox),
    }


def _clean(outcome: dict) -> dict:
    """Event values holding times differ between two runs by the moment of processing."""
    events = [e[:4] + ((e[4], e[5]) if e[3] == "status" else ()) + e[6:] for e in outcome["events"]]
    return {**outcome, "events": events}


# Both runs see the same clock, so deadlines and event times cannot differ between them.
@time_machine.travel(datetime.datetime(2026, 3, 4, 11, 0, tzinfo=datetime.UTC), tick=False)
def test_several_replies_to_one_ticket_in_a_batch_match_one_at_a_time(alice, charlie):
    with transaction.atomic():
        ticket = _resolved_ticket(charlie)
        pks = _stored(*_replies(charlie, ticket))
        for pk in pks:
            with TestCase.captureOnCommitCallbacks(execute=True):
                process(pk)
        one_at_a_time = _outcome(ticket, pks)
        transaction.set_rollback(True)
    mail.outbox = []
    ticket = _resolved_ticket(charlie)
    pks = _stored(*_replies(charlie, ticket))
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    batched = _outcome(ticket, pks)
    assert _clean(batched) == _clean(one_at_a_time)
    assert [m.status for m in results] == ["done", "done", "done", "ignored", "done"]
    assert batched["ticket"] == (Status.OPEN, None, True)
    assert [c[1] for c in batched["comments"]].count("(no text)") == 0
    assert len(batched["comments"]) == 4


def test_a_batch_of_replies_is_written_in_one_go(alice, charlie, django_assert_max_num_queries):
    ticket = _resolved_ticket(charlie)
    pks = _stored(*[_mail(n, f"Re: [{ticket.reference}] Heatmap") for n in range(10, 16)])
    # One reply costs 17 queries; the batch's comments, events and outbox rows are written
    # together (services.add_comments), so each further reply adds one query, not seventeen.
    with (
        django_assert_max_num_queries(17 + 5),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        results = process_many(pks)
    assert [m.status for m in results] == ["done"] * 6
    assert ticket.comments.count() == 6 and all(m.comment_id for m in results)


def test_a_failing_bulk_write_of_replies_falls_back_to_one_message_at_a_time(
    alice, charlie, monkeypatch
):
    ticket = _resolved_ticket(charlie)
    real = services.add_comments

    def add_comments(specs):
        if any("BAD" in spec["body"] for spec in specs):
            raise RuntimeError("bad reply")
        return real(specs)

    # add_comment() goes through add_comments() too: the bad reply fails alone as well.
    monkeypatch.setattr(services, "add_comments", add_comments)
    monkeypatch.setattr(services.comments, "add_comments", add_comments)
    raws = [
        _mail(20, f"Re: [{ticket.reference}] fine"),
        _mail(21, f"Re: [{ticket.reference}] bad").replace(b"Hello,", b"BAD,", 1),
        _mail(22, f"Re: [{ticket.reference}] fine too"),
    ]
    pks = _stored(*raws)
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert [m.status for m in results] == ["done", "failed", "done"]
    assert results[1].error == "RuntimeError: bad reply"
    assert ticket.comments.count() == 2
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


# --- store_many on PostgreSQL: the raw bytes as a binary parameter --------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's binary parameters")
def test_store_many_stores_the_exact_bytes_and_skips_duplicates(alice):
    every_byte = bytes(range(256)) * 64
    first = _mail(30, "Binary") + every_byte
    second = _mail(31, "Another") + b"\x00\\x00\r\n\xff"
    items = [
        (first, "alice@acme.example", ["Premier@eservice.example "]),
        (second, None, ["support@eservice.example"]),
        (first, "alice@acme.example", ["premier@eservice.example"]),  # duplicate in the call
    ]
    pending = store_many(items)
    assert len(pending) == 2 and InboundMessage.objects.count() == 2
    for (raw, mail_from, rcpt), message in zip(items, pending, strict=False):
        message = InboundMessage.objects.get(pk=message.pk)
        assert bytes(message.raw) == raw
        expected = _row(raw, mail_from, rcpt, message.received_at)
        for name in (
            "key",
            "envelope_from",
            "envelope_to",
            "subject",
            "from_address",
            "to_addresses",
            "date",
            "in_reply_to",
            "references",
        ):
            assert getattr(message, name) == getattr(expected, name), name
        assert (message.status, message.attempts, message.html, message.ticket_id) == (
            InboundStatus.STORED,
            0,
            "",
            None,
        )
    assert pending[0].envelope_to == ["premier@eservice.example"]
    # A second delivery of a stored message is skipped; the stored row stays as it was.
    before = InboundMessage.objects.get(pk=pending[0].pk).received_at
    store_many([(first, "someone@else.example", [])])
    assert InboundMessage.objects.count() == 2
    again = InboundMessage.objects.get(pk=pending[0].pk)
    assert (again.received_at, again.envelope_from) == (before, "alice@acme.example")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's binary parameters")
def test_store_many_rows_match_what_bulk_create_writes(alice):
    import datetime

    at = datetime.datetime(2026, 3, 3, 10, 15, 42, 123456, tzinfo=datetime.UTC)
    raws = [_mail(40, "Heatmap"), _mail(41, "Re: Heatmap", in_reply_to=40)]
    items = [(raw, "alice@acme.example", ["premier@eservice.example"]) for raw in raws]
    InboundMessage.objects.bulk_create([_row(*item, at) for item in items])
    expected = list(InboundMessage.objects.order_by("pk").values())
    InboundMessage.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        store_many(items, received_at=at)
    # The INSERT is seen (and counted) like Django's own queries, then the SELECT of the rows.
    assert [q["sql"].split(" ", 1)[0] for q in queries.captured_queries] == ["INSERT", "SELECT"]
    stored = list(InboundMessage.objects.order_by("pk").values())
    strip = lambda rows: [{k: v for k, v in row.items() if k != "id"} for row in rows]  # noqa: E731
    assert strip(stored) == strip(expected)
    assert stored[1]["in_reply_to"] == "<reply-40@mail.acme.example>"


@pytest.mark.parametrize("n", [5, 20])
def test_a_batch_of_replies_to_many_tickets_costs_a_constant_number_of_queries(
    alice, n, django_assert_max_num_queries
):
    tickets = [TicketFactory(organization=alice.organization, reporter=alice) for _ in range(n)]
    process_many(_stored(_mail(0, "warm-up")))
    raws = [_mail(100 + i, f"Re: [{t.reference}] Heatmap") for i, t in enumerate(tickets)]
    pks = _stored(*raws)
    # 13 here: one threading lookup for the batch, not one per reply (17 and 32 before).
    with django_assert_max_num_queries(15):
        with TestCase.captureOnCommitCallbacks(execute=True):
            results = process_many(pks)
    assert [(m.reason, m.ticket_id) for m in results] == [("reply", t.pk) for t in tickets]
    assert all(m.comment_id for m in results)


def test_a_reply_in_a_batch_never_threads_to_another_organizations_ticket(alice, bob, charlie):
    own = TicketFactory(organization=alice.organization, reporter=alice)
    other = TicketFactory(organization=bob.organization, reporter=bob)
    CommentFactory(ticket=other, author=bob, message_id="<other-1@globex.example>")
    by_id = _mail(3, "Re: Globex thread").replace(
        b"MIME-Version: 1.0", b"In-Reply-To: <other-1@globex.example>\nMIME-Version: 1.0", 1
    )
    pks = _stored(
        _mail(1, f"Re: [{own.reference}] ours"),
        _mail(2, f"Re: [{other.reference}] theirs"),  # names Globex's ticket: a new one
        by_id,  # answers a comment on Globex's ticket: a new one too
        _mail(  # staff may, through their signed reply address
            4,
            f"Re: [{other.reference}] staff",
            sender=charlie.email,
            cc=reply_address("premier", "x.example", user_id=charlie.pk, ticket_id=other.pk),
        ),
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = process_many(pks)
    assert [(m.status, m.reason) for m in results] == [
        ("done", "reply"),
        ("done", "new ticket"),
        ("done", "new ticket"),
        ("done", "reply"),
    ]
    assert [results[0].ticket_id, results[3].ticket_id] == [own.pk, other.pk]
    assert {results[1].ticket.organization_id, results[2].ticket.organization_id} == {
        alice.organization_id
    }
    assert other.comments.count() == 2
