"""The sweep: fires each rule once, in order, only on due tickets, in batch-bound queries."""

import datetime
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escalation import sweep as sweep_module
from escalation.models import Director, EscalationEvent
from escalation.sweep import RETRY_AFTER, sweep
from escalation.tasks import notify_events, run_sweep
from notifications.delivery import deliver_due
from notifications.models import Notification
from portal.celery import app as celery_app
from sla.targets import current_target
from tests.factories import ClientFactory, StaffFactory
from tickets import services
from tickets.models import OutboundMessage, Ticket, TicketEvent

UTC = datetime.UTC
# Tuesday 10:00 London (GMT = UTC in March). A Platinum P1 gets 6 business hours to respond:
# due 16:00; 75% at 14:30; 150% (9 h) Wednesday 10:00; 200% (12 h) Wednesday 13:00.
NOW = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
WARN = datetime.datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
DUE = datetime.datetime(2026, 3, 3, 16, 0, tzinfo=UTC)
L2 = datetime.datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
L3 = datetime.datetime(2026, 3, 4, 13, 0, tzinfo=UTC)


def open_p1(user, at=NOW, **values) -> Ticket:
    with time_machine.travel(at, tick=False):
        ticket = services.open_ticket(
            organization=user.organization,
            reporter=user,
            subject=values.pop("subject", "Recordings lag"),
            description="Sessions arrive hours late.",
            priority="P1",
            **values,
        )
    return Ticket.objects.get(pk=ticket.pk)


def levels(ticket) -> list[int]:
    return list(ticket.escalations.order_by("level").values_list("level", flat=True))


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def contacts(org):
    contract = org.contract
    contract.support_manager = StaffFactory(username="csm", first_name="Chloe", language="fr")
    contract.account_manager = StaffFactory(username="cam", first_name="Carl")
    contract.save()
    Director.objects.update_or_create(
        pk=1, defaults={"name": "Dana", "email": "dana@vendor.example"}
    )
    return contract


def test_new_ticket_next_check_is_the_warning(alice):
    ticket = open_p1(alice)
    assert ticket.response_due_at == DUE
    assert ticket.next_check_at == WARN


def test_each_threshold_fires_once_and_a_second_run_changes_nothing(alice, contacts):
    ticket = open_p1(alice)
    assert sweep(now=WARN - datetime.timedelta(seconds=1)).tickets == 0

    first = sweep(now=WARN)
    assert (first.warnings, first.escalations) == (1, 0)
    ticket.refresh_from_db()
    assert ticket.next_check_at == DUE and ticket.escalation_level == 0

    at_due = sweep(now=DUE)
    assert (at_due.escalations, at_due.breaches) == (1, 1)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert ticket.response_breached_at == DUE
    assert ticket.next_check_at == L2

    events_before = TicketEvent.objects.count()
    again = sweep(now=DUE)
    assert again.counts() == {**again.counts(), "tickets": 0, "escalations": 0, "warnings": 0}
    assert TicketEvent.objects.count() == events_before
    assert levels(ticket) == [0, 1]


def test_a_late_sweep_fires_every_due_level_in_order_without_the_warning(alice, contacts):
    ticket = open_p1(alice)
    result = sweep(now=L3 + datetime.timedelta(minutes=30))  # 210%
    assert (result.warnings, result.escalations, result.breaches) == (0, 3, 1)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 3
    assert ticket.next_check_at is None  # nothing left for the response target
    rows = list(ticket.escalations.order_by("id"))
    assert [e.level for e in rows] == [1, 2, 3]
    assert [e.contact for e in rows] == [
        "Chloe <csm@vendor.example>",
        "Carl <cam@vendor.example>",
        "Dana <dana@vendor.example>",
    ]
    timeline = TicketEvent.objects.filter(ticket=ticket, kind="escalation")
    assert [e.new_value for e in timeline.order_by("id")] == ["1", "2", "3"]
    assert all(e.public for e in timeline)


def test_first_response_moves_the_clock_to_resolution(alice, charlie, contacts):
    ticket = open_p1(alice)
    sweep(now=DUE)
    with time_machine.travel(DUE + datetime.timedelta(hours=1), tick=False):
        services.start_diagnosis(ticket, actor=charlie)
    ticket.refresh_from_db()
    # Level 1 already fired: the resolution phase waits for its warning, breach and level 2.
    assert ticket.resolution_due_at is not None
    expected = current_target(ticket).moment(0.75)
    assert ticket.next_check_at == expected


def test_resolving_stops_the_clock(alice, charlie):
    ticket = open_p1(alice)
    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        services.resolve(ticket, actor=charlie, resolution="Fixed the collector.")
    ticket.refresh_from_db()
    assert ticket.next_check_at is None
    assert sweep(now=L3).tickets == 0
    assert levels(ticket) == []


def test_exclusion_stops_the_clock(alice, charlie):
    ticket = open_p1(alice)
    with time_machine.travel(NOW, tick=False):
        services.set_exclusion(ticket, excluded=True, reason="Internet outage", actor=charlie)
    ticket.refresh_from_db()
    assert ticket.next_check_at is None


def test_queries_grow_with_batches_not_tickets(alice, contacts):
    def run(count):
        tickets = [open_p1(alice) for _ in range(count)]
        with CaptureQueriesContext(connection) as ctx:
            result = sweep(now=L3, batch_size=50)
        assert result.escalations == 3 * count
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).delete()
        return len(ctx.captured_queries)

    # 20 tickets keep every bulk insert within SQLite's 999 parameters (PostgreSQL never splits).
    assert run(3) == run(20)


def test_one_failing_ticket_is_pushed_back_and_the_rest_proceed(alice, monkeypatch):
    good, bad = open_p1(alice), open_p1(alice)
    real = sweep_module.current_target

    def flaky(ticket):
        if ticket.pk == bad.pk:
            raise RuntimeError("boom")
        return real(ticket)

    monkeypatch.setattr(sweep_module, "current_target", flaky)
    result = sweep(now=DUE)
    assert result.errors == 1 and result.escalations == 1
    bad.refresh_from_db()
    assert bad.next_check_at == DUE + RETRY_AFTER
    assert levels(bad) == [] and levels(good) == [1]


def test_notifications_are_sent_once_in_the_contacts_language(
    alice, contacts, eager, django_capture_on_commit_callbacks
):
    ticket = open_p1(alice)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(now=DUE)
    assert result.notifications_queued == 1
    deliver_due()  # the notices were written to the outbox with the escalation; sent here
    mails = OutboundMessage.objects.filter(ticket=ticket, kind="escalation")
    assert [m.to for m in mails] == [["csm@vendor.example"]]
    mail = mails.get()
    assert mail.auto_submitted == "auto-generated"
    assert "escaladé au niveau 1" in mail.body and ticket.reference in mail.subject
    assert f"/admin/tickets/ticket/{ticket.pk}/change/" in mail.body
    event = ticket.escalations.get()
    assert event.notified_at is not None

    assert notify_events([event.pk]) == 0  # a retried task sends nothing twice
    deliver_due()
    assert mails.count() == 1


def test_missing_contact_falls_back_to_the_support_team(alice, settings):
    ticket = open_p1(alice)
    sweep(now=DUE)
    event = ticket.escalations.get()
    assert event.contact_email == settings.SUPPORT_TEAM_EMAIL
    assert event.contact_missing is True


def test_warning_goes_to_assignee_and_team_and_is_internal(
    alice, eager, django_capture_on_commit_callbacks, settings
):
    agent = StaffFactory(username="agent")
    ticket = open_p1(alice)
    with time_machine.travel(NOW, tick=False):
        services.assign(ticket, assignee=agent, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=WARN)
    deliver_due()
    mails = OutboundMessage.objects.filter(ticket=ticket, kind="warning")
    assert {m.to[0] for m in mails} == {"agent@vendor.example", settings.SUPPORT_TEAM_EMAIL}
    assert not TicketEvent.objects.get(ticket=ticket, kind="escalation").public


def test_a_receiver_recompute_after_the_warning_does_not_re_arm_it(alice, charlie):
    ticket = open_p1(alice)
    sweep(now=WARN)
    with time_machine.travel(WARN + datetime.timedelta(minutes=5), tick=False):
        services.triage(ticket, priority="P1", actor=charlie)  # no-op change
        services.add_comment(ticket, author=alice, body="Any news?")
    ticket.refresh_from_db()
    assert ticket.next_check_at == DUE


def test_other_clients_tickets_are_swept_too(alice, contacts):
    other = ClientFactory(username="zed")
    open_p1(alice), open_p1(other)
    assert sweep(now=DUE).escalations == 2


def test_sla_sweep_command_uses_now_and_prints_counts(alice):
    ticket = open_p1(alice)
    out = io.StringIO()
    call_command("sla_sweep", "--now", "2026-03-03T16:00:00+00:00", stdout=out)
    assert "escalations=1" in out.getvalue()
    assert levels(ticket) == [1]


@pytest.mark.parametrize("bad", ["yesterday", "2026-03-03T16:00:00", "2026-13-01T00:00Z"])
def test_sla_sweep_command_refuses_a_bad_now(bad):
    with pytest.raises(CommandError, match="--now"):
        call_command("sla_sweep", "--now", bad, stdout=io.StringIO())


def test_events_are_unique_per_level_in_the_database(alice):
    ticket = open_p1(alice)
    sweep(now=DUE)
    duplicate = EscalationEvent(
        ticket=ticket, level=1, phase="response", trigger="deadline", fired_at=DUE, role="x"
    )
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_notices_are_written_after_the_commit_and_marked_once(
    alice, contacts, settings, django_capture_on_commit_callbacks
):
    settings.ESCALATION_NOTICES_INLINE = False
    ticket = open_p1(alice)
    queued = []
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=DUE, notify=queued.append)
    event = ticket.escalations.get()
    assert event.notified_at is None  # committed with the mark of a notice still owed
    assert (
        not Notification.objects.filter(ticket=ticket)
        .exclude(kind__in=("ack", "new_ticket"))
        .exists()
    )
    assert notify_events(*queued) == 1
    assert notify_events(*queued) == 0  # a retried task writes nothing twice
    kinds = Notification.objects.filter(ticket=ticket).exclude(kind__in=("ack", "new_ticket"))
    assert sorted(kinds.values_list("kind", "email")) == [
        ("escalated", "alice@acme.example"),
        ("escalation", "csm@vendor.example"),
    ]


def test_notices_are_written_in_the_sweeps_transaction_by_default(alice, contacts):
    ticket = open_p1(alice)
    sweep(now=DUE, notify=lambda ids: None)  # no task: the rows come with the escalation
    assert ticket.escalations.get().notified_at is not None
    assert Notification.objects.filter(ticket=ticket, kind="escalation").count() == 1


def test_every_beat_sweep_re_drives_the_notices_of_a_lost_task(alice, contacts, settings):
    settings.ESCALATION_NOTICES_INLINE = False
    ticket = open_p1(alice)
    sweep(now=DUE, notify=lambda ids: None)  # the task is lost
    with time_machine.travel(DUE + datetime.timedelta(minutes=2), tick=False):
        assert run_sweep()["notices_redriven"] == 1
        assert run_sweep()["notices_redriven"] == 0
    assert ticket.escalations.get().notified_at is not None
    assert Notification.objects.filter(ticket=ticket, kind="escalation").count() == 1


def test_notice_queries_grow_with_batches_not_events(
    alice, contacts, settings, django_capture_on_commit_callbacks
):
    settings.ESCALATION_NOTICES_INLINE = False

    def run(count):
        tickets = [open_p1(alice) for _ in range(count)]
        queued = []
        with django_capture_on_commit_callbacks(execute=True):
            sweep(now=L3, batch_size=50, notify=queued.append)
        with CaptureQueriesContext(connection) as ctx:
            assert notify_events(*queued) == 3 * count
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).delete()
        return len(ctx.captured_queries)

    assert run(3) == run(20)


def outbox_of(tickets) -> list[list[tuple]]:
    """Each ticket's escalation rows, in a form two tickets can compare: no ids or times."""
    out = []
    for ticket in tickets:
        rows = (
            Notification.objects.filter(ticket=ticket)
            .exclude(kind__in=("ack", "new_ticket"))
            .order_by("kind", "email", "id")
        )
        for row in rows:
            assert row.message_id.startswith(f"<{ticket.reference}.")  # threaded on its ticket
        out.append(
            [
                (r.kind, r.category, r.email, r.language, r.recipient_id, r.data, r.status)
                for r in rows
            ]
        )
    return out


def test_both_modes_write_the_same_outbox_rows_in_one_statement_a_batch(
    alice, contacts, settings, django_capture_on_commit_callbacks
):
    """A late sweep of enough tickets that a batch's notices take the unnest() write: the
    in-transaction default and the after-commit option record the very same rows, each with
    its own Message-ID, and every event marked notified."""
    count = 8  # 3 levels each: over core.db.UNNEST_FROM rows a batch
    inline = [open_p1(alice) for _ in range(count)]
    with CaptureQueriesContext(connection) as ctx:
        sweep(now=L3, notify=lambda ids: None)
    outbox_inserts = [
        q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "notifications')
    ]
    assert len(outbox_inserts) == 1 and "unnest(" in outbox_inserts[0]["sql"]

    settings.ESCALATION_NOTICES_INLINE = False
    deferred = [open_p1(alice) for _ in range(count)]
    queued = []
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=L3, notify=queued.append)
    assert notify_events(*queued) == 3 * count

    written = outbox_of(inline)
    assert written == outbox_of(deferred)
    assert {len(rows) for rows in written} == {6}  # 3 staff notices, 3 client mails
    ids = Notification.objects.values_list("message_id", flat=True)
    assert len(set(ids)) == len(ids)
    both = [t.pk for t in inline + deferred]
    assert not EscalationEvent.objects.filter(ticket__in=both, notified_at__isnull=True).exists()
