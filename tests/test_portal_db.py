import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import UNNEST_FROM, bulk_insert, bulk_update, insert_columns
from notifications.models import Category, Notification
from tickets.models import Ticket
from tickets.outbound import mail_domain, new_message_id
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def _tickets(alice, n):
    org = alice.organization
    return [
        open_ticket(organization=org, reporter=alice, subject=f"s{i}", description="d")
        for i in range(n)
    ]


def test_bulk_update_writes_each_row_its_own_values_and_nulls(alice):
    tickets = [
        open_ticket(
            organization=alice.organization, reporter=alice, subject=f"s{i}", description="d"
        )
        for i in range(3)
    ]
    later = timezone.now()
    tickets[0].escalation_level, tickets[0].next_check_at = 2, later
    tickets[1].escalation_level, tickets[1].next_check_at = 1, None
    tickets[2].subject = "renamed"
    bulk_update(Ticket, tickets, ["escalation_level", "next_check_at", "subject"])
    rows = {t.pk: t for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets])}
    assert (rows[tickets[0].pk].escalation_level, rows[tickets[0].pk].next_check_at) == (2, later)
    assert (rows[tickets[1].pk].escalation_level, rows[tickets[1].pk].next_check_at) == (1, None)
    assert rows[tickets[2].pk].subject == "renamed"


def test_bulk_update_is_one_statement(alice, django_assert_num_queries):
    tickets = [
        open_ticket(
            organization=alice.organization, reporter=alice, subject=f"s{i}", description="d"
        )
        for i in range(20)
    ]
    for t in tickets:
        t.escalation_level = 3
    with django_assert_num_queries(1):
        bulk_update(Ticket, tickets, ["escalation_level"])
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {3}


def _notifications(ticket, n, *, recipient=None):
    when = timezone.now()
    return [
        Notification(
            kind="reply",
            category=Category.REPLIES,
            ticket=ticket,
            recipient=recipient if i % 2 == 0 else None,
            email=f"p{i}@example.com",
            language="fr" if i % 3 == 0 else "en",
            message_id=f"<m{i}.{ticket.pk}@example.com>",
            data={"i": i, "nested": [i, None]},
            next_attempt_at=when,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [3, UNNEST_FROM, UNNEST_FROM * 3])
def test_bulk_insert_writes_every_row_and_sets_its_pk(alice, n, django_assert_num_queries):
    ticket = _tickets(alice, 1)[0]
    rows = _notifications(ticket, n, recipient=alice)
    with django_assert_num_queries(1):
        bulk_insert(Notification, rows)
    stored = Notification.objects.in_bulk([r.pk for r in rows])
    assert len(stored) == n
    for i, row in enumerate(rows):
        got = stored[row.pk]
        assert not row._state.adding
        assert got.message_id == row.message_id  # each pk is its own row's
        assert got.data == {"i": i, "nested": [i, None]}
        assert got.recipient_id == (alice.pk if i % 2 == 0 else None)
        assert (got.language, got.comment_id, got.status) == (row.language, None, "pending")
        assert got.created_at is not None  # auto_now_add, as bulk_create would set it


def test_bulk_insert_of_a_large_batch_is_one_statement_whatever_its_size(alice):
    ticket = _tickets(alice, 1)[0]
    with CaptureQueriesContext(connection) as ctx:
        bulk_insert(Notification, _notifications(ticket, UNNEST_FROM * 4))
    (query,) = ctx.captured_queries
    assert "unnest(" in query["sql"]
    assert Notification.objects.filter(ticket=ticket, kind="reply").count() == UNNEST_FROM * 4


def test_bulk_insert_of_a_large_batch_refuses_a_duplicate_as_bulk_create_would(alice):
    ticket = _tickets(alice, 1)[0]
    rows = _notifications(ticket, UNNEST_FROM)
    rows[-1].message_id = rows[0].message_id
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Notification, rows)
    assert not Notification.objects.filter(ticket=ticket, kind="reply").exists()


def test_mail_domain_follows_the_settings_it_is_cached_on(settings):
    settings.SUPPORT_EMAIL_DOMAIN = ""
    settings.DEFAULT_FROM_EMAIL = "eService <noreply@help.example.org>"
    assert new_message_id().endswith("@help.example.org>")
    settings.DEFAULT_FROM_EMAIL = "desk@other.example"
    assert mail_domain() == "other.example"
    settings.SUPPORT_EMAIL_DOMAIN = "support.example"
    assert new_message_id().endswith("@support.example>")
    assert new_message_id() != new_message_id()


@pytest.mark.parametrize("n", [2, UNNEST_FROM, UNNEST_FROM * 3])
def test_insert_columns_writes_each_column_in_one_statement_and_returns_ids_in_order(alice, n):
    """Below UNNEST_FROM rows one INSERT … VALUES, from it one unnest() bound in binary: the
    same rows either way, NULLs, JSON and times included."""
    ticket = _tickets(alice, 1)[0]
    when = timezone.now()
    field = Notification._meta.get_field("data")
    columns = {
        "kind": ["reply"] * n,
        "category": [Category.REPLIES] * n,
        "ticket_id": [ticket.pk] * n,
        "recipient_id": [alice.pk if i % 2 else None for i in range(n)],
        "email": [f'p{i}@example.com "quoted", {{braces}}' for i in range(n)],
        "language": ["fr"] * n,
        "attempts": [i % 3 for i in range(n)],
        "last_error": ["" if i % 2 else "NULL" for i in range(n)],
        "message_id": [f"<c{i}.{ticket.pk}@example.com>" for i in range(n)],
        "data": [field.get_db_prep_save({"i": i, "s": 'a"b\\c'}, connection) for i in range(n)],
        "next_attempt_at": [when] * n,
        "created_at": [when] * n,
    }
    with CaptureQueriesContext(connection) as ctx:
        rows = insert_columns(
            Notification, columns, constants={"status": "'pending'"}, tail="RETURNING id"
        )
    (query,) = ctx.captured_queries
    assert ("unnest(" in query["sql"]) == (n >= UNNEST_FROM)
    stored = Notification.objects.in_bulk([pk for (pk,) in rows])
    for i, (pk,) in enumerate(rows):
        got = stored[pk]
        assert got.message_id == f"<c{i}.{ticket.pk}@example.com>"
        assert got.email == f'p{i}@example.com "quoted", {{braces}}'
        assert got.data == {"i": i, "s": 'a"b\\c'}
        assert got.recipient_id == (alice.pk if i % 2 else None)
        assert (got.comment_id, got.status, got.next_attempt_at) == (None, "pending", when)
        assert (got.attempts, got.last_error) == (i % 3, "" if i % 2 else "NULL")
