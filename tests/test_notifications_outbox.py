"""notifications.outbox: the fan-out's plain rows and their one-statement write."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import UNNEST_FROM
from notifications import fanout, outbox
from notifications.models import Category, Notification, Status
from notifications.recipients import Recipient
from tickets import services
from tickets.outbound import mail_domain

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(alice):
    return services.open_ticket(
        organization=alice.organization, reporter=alice, subject="Lag", description="Late."
    )


def people(alice, count):
    return [
        Recipient.of(alice),
        *(Recipient(f"p{i}@example.com", None, "fr") for i in range(count)),
    ]


@pytest.mark.parametrize("count", [1, UNNEST_FROM * 2])
def test_rows_are_written_in_one_query_with_the_models_defaults(alice, ticket, count):
    rows = fanout._rows(
        people(alice, count), "escalated", Category.ESCALATIONS, ticket=ticket, data={"level": 2}
    )
    with CaptureQueriesContext(connection) as ctx:
        ids = outbox.write(rows)
    assert len(ctx.captured_queries) == 1
    assert ids == [row.pk for row in rows] and None not in ids
    stored = Notification.objects.in_bulk(ids)
    for row in rows:
        got = stored[row.pk]
        assert (got.kind, got.category, got.email, got.language, got.data) == (
            "escalated",
            Category.ESCALATIONS,
            row.email,
            row.language,
            {"level": 2},
        )
        assert (got.ticket_id, got.comment_id, got.credit_id) == (ticket.pk, None, None)
        assert got.message_id == row.message_id
        assert (got.status, got.attempts, got.last_error) == (Status.PENDING, 0, "")
        assert (got.claimed_until, got.sent_at) == (None, None)
        assert got.created_at is not None and got.next_attempt_at == row.next_attempt_at
    assert stored[rows[0].pk].recipient_id == alice.pk
    assert {stored[r.pk].recipient_id for r in rows[1:]} == {None}


def test_each_row_has_its_own_message_id_threaded_on_the_ticket(alice, ticket):
    rows = fanout._rows(people(alice, 30), "reply", Category.REPLIES, ticket=ticket, data={})
    ids = {row.message_id for row in rows}
    assert len(ids) == len(rows)
    assert all(
        m.startswith(f"<{ticket.reference}.") and m.endswith(f"@{mail_domain()}>") for m in ids
    )


def test_a_duplicate_message_id_writes_nothing(alice, ticket):
    rows = fanout._rows(
        people(alice, UNNEST_FROM), "reply", Category.REPLIES, ticket=ticket, data={}
    )
    rows[-1].message_id = rows[0].message_id
    with pytest.raises(IntegrityError), transaction.atomic():
        outbox.write(rows)
    assert not Notification.objects.filter(ticket=ticket, kind="reply").exists()


def test_no_rows_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert outbox.write([]) == []
