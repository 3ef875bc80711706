import datetime

import pytest
from django.utils import timezone

from core.errors import ServiceError
from tests.factories import StaffFactory
from tickets import services
from tickets.models import Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_client_priority_is_a_suggestion_until_triage(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization,
        reporter=alice,
        subject="Replay down",
        description="Nothing loads",
        priority="P0",
    )
    assert (ticket.priority, ticket.suggested_priority, ticket.triaged_at) == ("P0", "P0", None)
    services.triage(ticket, priority="P2", actor=charlie)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.suggested_priority) == ("P2", "P0")
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(action="reclassified", old_value="P0", new_value="P2").exists()


@pytest.mark.parametrize("who", ["bob", "charlie"])
def test_the_reporter_must_be_a_client_of_the_tickets_organization(who, request, alice):
    """The rule every channel relies on (API, admin phone log, mail, portal)."""
    with pytest.raises(ServiceError) as err:
        services.open_ticket(
            organization=alice.organization,
            reporter=request.getfixturevalue(who),
            subject="s",
            description="d",
            actor=StaffFactory(),
        )
    assert err.value.field == "reporter"
    assert not Ticket.objects.exists()


def test_staff_may_file_on_their_own_account(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=charlie, subject="s", description="d"
    )
    assert (ticket.reporter, ticket.organization) == (charlie, alice.organization)


def test_a_call_is_logged_for_the_client_found_by_email_or_username(alice, bob):
    assert services.find_reporter(alice.organization, " ALICE@acme.example ") == alice
    assert services.find_reporter(alice.organization, "alice") == alice
    with pytest.raises(ServiceError) as err:
        services.find_reporter(alice.organization, bob.email)
    assert err.value.field == "reporter"


def test_received_at_in_the_future_is_refused(alice):
    with pytest.raises(ServiceError) as err:
        services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject="s",
            description="d",
            received_at=timezone.now() + datetime.timedelta(minutes=5),
        )
    assert err.value.field == "received_at"
    assert not Ticket.objects.exists()


def test_first_public_staff_reply_is_the_first_response(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.add_comment(ticket, author=charlie, body="Looking", internal=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    reply = services.add_comment(ticket, author=charlie, body="We are on it")
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at


def test_client_cannot_write_internal_note(alice):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    with pytest.raises(ServiceError) as err:
        services.add_comment(ticket, author=alice, body="x", internal=True)
    assert err.value.field == "internal"


def test_resolve_then_client_reply_reopens(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.resolve(ticket, actor=charlie, resolution="Fixed")
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.first_response_at == ticket.resolved_at
    services.add_comment(ticket, author=alice, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    assert TicketEvent.objects.filter(ticket=ticket, action="reopened", public=True).exists()


def test_visible_to_is_the_tenancy_guard(alice, bob, charlie):
    mine = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    assert list(Ticket.objects.visible_to(alice)) == [mine]
    assert list(Ticket.objects.visible_to(bob)) == []
    assert list(Ticket.objects.visible_to(charlie)) == [mine]


def test_start_diagnosis_records_first_response_once(alice, charlie):
    ticket = services.open_ticket(
        organization=alice.organization, reporter=alice, subject="s", description="d"
    )
    services.start_diagnosis(ticket, actor=charlie)
    ticket.refresh_from_db()
    first = ticket.first_response_at
    services.start_diagnosis(ticket, actor=charlie)
    ticket.refresh_from_db()
    assert ticket.first_response_at == first and ticket.assignee == charlie


# --- open_tickets: the batch form of open_ticket ------------------------------------------------

OPENED_FIELDS = (
    "subject",
    "priority",
    "suggested_priority",
    "status",
    "channel",
    "received_at",
    "triaged_at",
    "response_due_at",
    "resolution_due_at",
    "response_clock",
    "resolution_clock",
    "next_check_at",
)


def _opening_specs(alice, n):
    start = datetime.datetime(2026, 3, 3, 7, 0, tzinfo=datetime.UTC)
    return [
        dict(
            organization=alice.organization,
            reporter=alice,
            subject=f"Heatmap {i}",
            description="The heatmap stays blank.",
            priority=["P0", "P1", None][i % 3],
            received_at=start + datetime.timedelta(minutes=37 * i),
        )
        for i in range(n)
    ]


def _opened(ticket):
    ticket.refresh_from_db()
    events = [
        (e.at, e.kind, e.action, e.field, e.old_value, e.new_value, e.note, e.public)
        for e in ticket.events.all()
    ]
    return {name: getattr(ticket, name) for name in OPENED_FIELDS}, events


def test_open_tickets_opens_each_ticket_as_open_ticket_does(alice):
    import time_machine

    with time_machine.travel(
        datetime.datetime(2026, 3, 3, 10, 15, tzinfo=datetime.UTC), tick=False
    ):
        one_by_one = [services.open_ticket(**spec) for spec in _opening_specs(alice, 6)]
        together = services.open_tickets(_opening_specs(alice, 6))
    assert all(t.pk for t in together) and len({t.pk for t in together}) == 6
    for single, batched in zip(one_by_one, together, strict=True):
        assert _opened(single) == _opened(batched)
    # The SLA engine and the escalation receiver did run on each ticket.
    assert all(t.response_due_at for t in together)
    assert any(t.next_check_at for t in together)


# 20 tickets stay within one INSERT batch on SQLite too (its bound-parameter limit).
@pytest.mark.parametrize("n", [1, 5, 20])
def test_open_tickets_writes_in_a_constant_number_of_queries(
    alice, n, django_assert_max_num_queries
):
    specs = _opening_specs(alice, n)
    services.open_tickets(specs[:1])  # calendars and plan targets cached
    # 7: the six writes and reads of opening, plus the one INSERT of the notification outbox.
    with django_assert_max_num_queries(7):
        tickets = services.open_tickets(specs)
    assert Ticket.objects.filter(pk__in=[t.pk for t in tickets]).count() == n
    assert TicketEvent.objects.filter(ticket__in=tickets, action="opened").count() == n


def test_open_tickets_writes_nothing_when_one_spec_is_invalid(alice):
    specs = _opening_specs(alice, 3)
    specs[2]["subject"] = " "
    with pytest.raises(ServiceError):
        services.open_tickets(specs)
    assert not Ticket.objects.exists() and not TicketEvent.objects.exists()


# --- add_comments: the batch form of add_comment ------------------------------------------------

COMMENTED_AT = datetime.datetime(2026, 3, 3, 10, 15, tzinfo=datetime.UTC)
RECEIVED = datetime.datetime(2026, 3, 3, 9, 50, tzinfo=datetime.UTC)  # a Tuesday, GMT hours


def _ticket_state(ticket):
    """A ticket's row (but its id), its events and its comments, independent of pks."""
    ticket.refresh_from_db()
    row = {f.attname: getattr(ticket, f.attname) for f in Ticket._meta.concrete_fields}
    del row["id"]
    events = [
        (e.at, e.kind, e.action, e.field, e.old_value, e.new_value, e.note, e.public, e.actor_id)
        for e in ticket.events.order_by("id")
    ]
    comments = [
        (c.author_id, c.body, c.internal, c.channel, c.created_at, c.message_id)
        for c in ticket.comments.order_by("id")
    ]
    return row, events, comments


def _tickets_to_comment(alice, charlie):
    """New, pending, resolved and open tickets, received a few hours before COMMENTED_AT."""
    tickets = [
        services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject=f"Heatmap {i}",
            description="The heatmap stays blank.",
            received_at=COMMENTED_AT - datetime.timedelta(hours=3 - i * 0.5),
        )
        for i in range(4)
    ]
    services.set_status(tickets[1], status=Status.PENDING, actor=charlie)
    services.resolve(tickets[2], actor=charlie, resolution="Fixed")
    services.start_diagnosis(tickets[3], actor=charlie)
    return tickets


def _comment_specs(tickets, alice, charlie):
    new, pending, resolved, opened = tickets
    return [
        dict(ticket=new, author=charlie, body="Looking", internal=True),
        dict(ticket=new, author=charlie, body="We are on it"),  # first response, now open
        dict(ticket=pending, author=alice, body="Here are the logs"),  # customer replied
        dict(ticket=resolved, author=alice, body="Still broken"),  # reopened
        dict(ticket=resolved, author=charlie, body="Checking again"),  # same ticket again
        dict(ticket=opened, author=alice, body="Any news?", message_id="<m1@acme.example>"),
    ]


def test_add_comments_has_the_outcome_of_add_comment_one_at_a_time(alice, charlie):
    import time_machine

    with time_machine.travel(COMMENTED_AT, tick=False):
        one_by_one = _tickets_to_comment(alice, charlie)
        for spec in _comment_specs(one_by_one, alice, charlie):
            services.add_comment(**spec)
        together = _tickets_to_comment(alice, charlie)
        comments = services.add_comments(_comment_specs(together, alice, charlie))
    assert all(c.pk for c in comments) and len({c.pk for c in comments}) == 6
    for single, batched in zip(one_by_one, together, strict=True):
        assert _ticket_state(single) == _ticket_state(batched)
    new, pending, resolved, opened = together
    assert (new.status, new.first_response_at) == (Status.OPEN, COMMENTED_AT)
    assert pending.status == Status.OPEN
    assert (resolved.status, resolved.resolved_at) == (Status.OPEN, None)
    assert resolved.events.filter(action="reopened", public=True).exists()
    assert comments[5].message_id == "<m1@acme.example>"


@pytest.mark.parametrize("n", [1, 5, 20])
def test_add_comments_writes_in_a_constant_number_of_queries(alice, charlie, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tickets = services.open_tickets(_opening_specs(alice, n + 1))
    services.add_comment(tickets[0], author=charlie, body="warm-up")
    specs = [dict(ticket=t, author=charlie, body="We are on it") for t in tickets[1:]]
    with CaptureQueriesContext(connection) as queries:
        comments = services.add_comments(specs)
    # The escalation receiver reads the warnings sent to the batch's tickets at most once;
    # add_comments' writes are constant: a savepoint, the lock, the comments, the tickets,
    # the events, the tickets' watchers and the notification outbox rows (one query each for
    # the batch), its release.
    sqls = [q["sql"] for q in queries.captured_queries]
    warned = [sql for sql in sqls if "escalation_escalationevent" in sql]
    assert len(warned) <= 1 and len(sqls) - len(warned) <= 8
    assert len(comments) == n
    assert (
        Ticket.objects.filter(status=Status.OPEN, first_response_at__isnull=False).count() == n + 1
    )
    events = TicketEvent.objects.filter(action="first_response", field="first_response_at")
    assert events.count() == n + 1


def test_add_comments_reads_the_warnings_sent_once_and_plans_the_next_check_as_one_by_one(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from escalation.models import EscalationEvent, Level

    def warned(ticket):
        EscalationEvent.objects.create(
            ticket=ticket,
            level=Level.WARNING,
            phase="response",
            trigger="deadline",
            fired_at=timezone.now(),
            role="support queue",
        )

    import time_machine

    # P1 tickets within business hours: each one's next check is its response warning.
    specs = [dict(spec, priority="P1", received_at=RECEIVED) for spec in _opening_specs(alice, 3)]
    with time_machine.travel(RECEIVED + datetime.timedelta(minutes=10), tick=False):
        one_by_one, together = services.open_tickets(specs), services.open_tickets(specs)
        warned(one_by_one[1])
        warned(together[1])
        for ticket in one_by_one:
            services.add_comment(ticket, author=alice, body="Any news?")
        replies = [dict(ticket=t, author=alice, body="Any news?") for t in together]
        with CaptureQueriesContext(connection) as queries:
            services.add_comments(replies)
    sqls = [q["sql"] for q in queries.captured_queries]
    assert len([sql for sql in sqls if "escalation_escalationevent" in sql]) == 1

    def next_checks(tickets):
        return [Ticket.objects.get(pk=t.pk).next_check_at for t in tickets]

    assert next_checks(together) == next_checks(one_by_one)
    warning, _, _ = next_checks(together)
    # The warned ticket's next check is its breach, after the others' warning.
    assert next_checks(together)[1] == Ticket.objects.get(pk=together[1].pk).response_due_at
    assert warning < next_checks(together)[1]


def test_add_comments_writes_nothing_when_one_spec_is_invalid(alice, charlie):
    tickets = services.open_tickets(_opening_specs(alice, 2))
    specs = [
        dict(ticket=tickets[0], author=charlie, body="We are on it"),
        dict(ticket=tickets[1], author=alice, body="secret", internal=True),
    ]
    events = TicketEvent.objects.count()
    with pytest.raises(ServiceError) as err:
        services.add_comments(specs)
    assert err.value.field == "internal"
    assert TicketEvent.objects.count() == events
    assert not Ticket.objects.filter(status=Status.OPEN).exists()
    assert not tickets[0].comments.exists()


@pytest.mark.django_db
def test_opening_writes_the_tickets_and_their_events_in_one_statement(alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    specs = [
        dict(organization=alice.organization, reporter=alice, subject=f"s{n}", description="d")
        for n in range(3)
    ]
    with CaptureQueriesContext(connection) as captured:
        tickets = services.open_tickets(specs)
    writes = [q["sql"] for q in captured.captured_queries if "tickets_ticketevent" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(writes) == 1 and 'INSERT INTO "tickets_ticket"' in writes[0]
    assert [t.subject for t in tickets] == ["s0", "s1", "s2"]
    assert [t.pk for t in tickets] == sorted(t.pk for t in tickets)
    for ticket in tickets:
        assert Ticket.objects.get(pk=ticket.pk).subject == ticket.subject
        rows = list(TicketEvent.objects.filter(ticket=ticket).order_by("pk"))
        # Each ticket's events, in the order they were made: opened, then the SLA clock.
        assert [e.action for e in rows][:1] == ["opened"] and len(rows) >= 2
        assert all(e.at == rows[0].at for e in rows)
