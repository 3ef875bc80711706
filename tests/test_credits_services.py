"""Service credits: creation on late resolution and at month end, claim window, expiry,
grant and refuse (SPEC section 2, Service credits)."""

import datetime

import pytest
import time_machine
from django.test import TestCase

from core.errors import Conflict, ServiceError
from sla.availability import services, tasks
from sla.availability.models import ContractChange, CreditStatus, Incident, ServiceCredit
from tests.factories import TicketFactory
from tickets.events import publish
from tickets.models import Ticket
from tickets.services import TicketChange

UTC = datetime.UTC
DUE = datetime.datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday noon

pytestmark = pytest.mark.django_db


def t(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def resolved_ticket(org, *, late, priority="P1", excluded=False):
    """A ticket row resolved `late` after its deadline; the change is published on the
    domain event stream as tickets.services.record() does (the consumer under test
    syncs the credit once it commits)."""
    ticket = TicketFactory(
        organization=org,
        priority=priority,
        status="resolved",
        received_at=DUE - datetime.timedelta(days=10),
        first_response_at=DUE - datetime.timedelta(days=9),
        resolution_due_at=DUE,
        resolved_at=DUE + late,
        excluded=excluded,
    )
    announce(ticket, "resolve")
    return ticket


def announce(ticket, reason):
    with TestCase.captureOnCommitCallbacks(execute=True):
        publish([TicketChange(ticket, None, reason, ticket.resolved_at)])


def credit_for(ticket):
    return ServiceCredit.objects.filter(ticket=ticket).first()


@pytest.mark.parametrize(
    ("late", "days"),
    [
        (datetime.timedelta(seconds=1), 1),
        (datetime.timedelta(hours=24), 1),
        (datetime.timedelta(hours=24, seconds=1), 2),
    ],
)
def test_late_resolution_earns_one_credit_per_started_24_hours(org, late, days):
    ticket = resolved_ticket(org, late=late)
    credit = credit_for(ticket)
    assert (credit.kind, credit.days, credit.status) == ("resolution", days, "open")
    # The breach is established when the late ticket is resolved; 30 days to claim.
    assert credit.breach_at == DUE + late
    assert credit.claim_deadline == DUE + late + datetime.timedelta(days=30)
    assert credit.organization == org


@pytest.mark.parametrize(
    ("late", "priority", "excluded"),
    [
        (datetime.timedelta(0), "P1", False),  # exactly on the deadline is on time
        (datetime.timedelta(days=3), "P3", False),  # P3 has no resolution target
        (datetime.timedelta(days=3), "P0", True),  # excluded: the SLA no longer applies
    ],
)
def test_no_resolution_credit_when_not_late_p3_or_excluded(org, late, priority, excluded):
    ticket = resolved_ticket(org, late=late, priority=priority, excluded=excluded)
    assert credit_for(ticket) is None


def test_resolution_credit_is_idempotent_and_follows_a_later_re_resolution(org):
    ticket = resolved_ticket(org, late=datetime.timedelta(hours=2))
    announce(ticket, "resolve")  # delivered twice: still one row
    assert ServiceCredit.objects.filter(ticket=ticket).count() == 1

    # Reopened, then resolved again 50 hours late: the open credit follows (3 periods).
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=DUE + datetime.timedelta(hours=50))
    announce(Ticket.objects.get(pk=ticket.pk), "resolve")
    credit = credit_for(ticket)
    assert credit.days == 3
    assert credit.breach_at == DUE + datetime.timedelta(hours=50)
    assert ServiceCredit.objects.filter(ticket=ticket).count() == 1


def test_a_claimed_credit_is_frozen_when_the_ticket_is_resolved_again(org, alice):
    ticket = resolved_ticket(org, late=datetime.timedelta(hours=2))
    services.claim(credit_for(ticket), user=alice, now=DUE + datetime.timedelta(days=1))
    Ticket.objects.filter(pk=ticket.pk).update(resolved_at=DUE + datetime.timedelta(hours=50))
    announce(Ticket.objects.get(pk=ticket.pk), "resolve")
    assert (credit_for(ticket).days, credit_for(ticket).status) == (1, "claimed")


def test_excluding_a_ticket_refuses_its_open_credit_and_keeps_the_row(org):
    ticket = resolved_ticket(org, late=datetime.timedelta(hours=2))
    Ticket.objects.filter(pk=ticket.pk).update(excluded=True)
    announce(Ticket.objects.get(pk=ticket.pk), "exclusion")
    credit = credit_for(ticket)
    assert credit.status == "refused" and credit.decided_by is None


# -- the claim window ------------------------------------------------------------------------


@pytest.fixture
def credit(org):
    return credit_for(resolved_ticket(org, late=datetime.timedelta(hours=1)))


def test_claim_on_day_30_is_accepted(credit, alice):
    # breach 2026-03-10 13:00 → deadline 2026-04-09 13:00: claim at that very second
    with time_machine.travel(t(2026, 4, 9, 13), tick=False):
        claimed = services.claim(credit, user=alice)
    assert (claimed.status, claimed.claimed_by, claimed.claimed_at) == (
        "claimed",
        alice,
        t(2026, 4, 9, 13),
    )


def test_claim_on_day_31_is_refused_with_the_closing_date(credit, alice):
    with time_machine.travel(t(2026, 4, 10, 13), tick=False), pytest.raises(ServiceError) as err:
        services.claim(credit, user=alice)
    assert err.value.message == "The 30-day claim window closed on 2026-04-09 13:00 UTC."
    assert err.value.status_code == 400
    credit.refresh_from_db()
    assert credit.status == "open"


def test_claiming_twice_is_a_conflict(credit, alice):
    services.claim(credit, user=alice, now=t(2026, 3, 11))
    with pytest.raises(Conflict):
        services.claim(credit, user=alice, now=t(2026, 3, 12))


def test_another_organizations_member_cannot_claim(credit, bob):
    with pytest.raises(ServiceError):
        services.claim(credit, user=bob, now=t(2026, 3, 11))


# -- expiry ----------------------------------------------------------------------------------


def test_expiry_job_expires_open_credits_past_their_deadline_once(org, alice):
    old = credit_for(resolved_ticket(org, late=datetime.timedelta(hours=1)))
    claimed = credit_for(resolved_ticket(org, late=datetime.timedelta(hours=1)))
    services.claim(claimed, user=alice, now=t(2026, 3, 11))
    recent = ServiceCredit.objects.create(
        organization=org,
        kind="availability",
        month=datetime.date(2026, 3, 1),
        days=1,
        breach_at=t(2026, 4, 1),
        claim_deadline=t(2026, 5, 1),
    )
    with time_machine.travel(t(2026, 4, 9, 13, 0, 1), tick=False):  # 1 s after old's deadline
        assert tasks.expire_credits() == 1
        assert tasks.expire_credits() == 0  # a second run changes nothing
    statuses = {c.pk: c.status for c in ServiceCredit.objects.all()}
    assert statuses == {old.pk: "expired", claimed.pk: "claimed", recent.pk: "open"}
    with pytest.raises(ServiceError, match="claim window closed"):
        services.claim(old, user=alice, now=t(2026, 4, 1))


# -- decisions -------------------------------------------------------------------------------


def test_grant_extends_the_contract_end_date_and_records_history(credit, alice, charlie, org):
    credit.days = 3
    credit.save()
    services.claim(credit, user=alice, now=t(2026, 3, 11))
    services.grant(credit, actor=charlie, note="Confirmed late")
    org.contract.refresh_from_db()
    assert org.contract.end_date == datetime.date(2027, 1, 3)  # 2026-12-31 + 3 days
    change = ContractChange.objects.get()
    assert (change.old_end_date, change.new_end_date, change.credit, change.actor) == (
        datetime.date(2026, 12, 31),
        datetime.date(2027, 1, 3),
        credit,
        charlie,
    )
    credit.refresh_from_db()
    assert (credit.status, credit.decided_by, credit.decision_note) == (
        "granted",
        charlie,
        "Confirmed late",
    )
    with pytest.raises(Conflict):  # granting twice never extends twice
        services.grant(credit, actor=charlie)
    assert ContractChange.objects.count() == 1


def test_refuse_does_not_touch_the_contract(credit, alice, charlie, org):
    services.claim(credit, user=alice, now=t(2026, 3, 11))
    services.refuse(credit, actor=charlie, note="Outage caused by the client's CDN")
    org.contract.refresh_from_db()
    assert org.contract.end_date == datetime.date(2026, 12, 31)
    assert not ContractChange.objects.exists()
    assert ServiceCredit.objects.get(pk=credit.pk).status == CreditStatus.REFUSED


def test_an_unclaimed_credit_cannot_be_granted(credit, charlie):
    with pytest.raises(Conflict):
        services.grant(credit, actor=charlie)


# -- month close -----------------------------------------------------------------------------


def test_close_month_creates_availability_credits_once(org, other_org):
    # Acme: 1.8 % of 40,320 eligible minutes down in March 2026 → 98.2 % → 2 credits.
    start = t(2026, 3, 3, 10)
    row = Incident.objects.create(
        started_at=start,
        ended_at=start + datetime.timedelta(seconds=43545, microseconds=600000),
        summary="UI down",
    )
    row.organizations.set([org])
    march = datetime.date(2026, 3, 1)
    with pytest.raises(ServiceError):
        services.close_month(march, now=t(2026, 3, 31, 23, 59))  # the month is not over
    created = services.close_month(march, now=t(2026, 4, 1, 0, 5))
    assert [(c.organization, c.days, c.month) for c in created] == [(org, 2, march)]
    assert created[0].breach_at == t(2026, 4, 1)
    assert created[0].claim_deadline == t(2026, 5, 1)
    assert services.close_month(march, now=t(2026, 4, 2)) == []  # second run: nothing new
    assert ServiceCredit.objects.filter(kind="availability").count() == 1


def test_the_beat_task_closes_the_previous_month(org):
    Incident.objects.create(started_at=t(2026, 3, 3, 0), ended_at=t(2026, 3, 4, 0), summary="x")
    # 1,440 of 40,320 minutes down: 96.428…% → 3.07 points short → 4 credits
    with time_machine.travel(t(2026, 4, 1, 1), tick=False):
        assert tasks.close_previous_month() == 1
        assert tasks.close_previous_month() == 0
    assert ServiceCredit.objects.get(kind="availability").days == 4


def test_close_month_command_reports_and_refuses_an_unfinished_month(org):
    from io import StringIO

    from django.core.management import CommandError, call_command

    Incident.objects.create(started_at=t(2026, 3, 3, 0), ended_at=t(2026, 3, 4, 0), summary="x")
    out = StringIO()
    with time_machine.travel(t(2026, 4, 2), tick=False):
        call_command("close_month", "--month", "2026-03", stdout=out)
        assert "2026-03: 1 new availability credit(s)." in out.getvalue()
        call_command("close_month", stdout=out)  # default: the previous month, again
        assert out.getvalue().endswith("2026-03: 0 new availability credit(s).\n")
        with pytest.raises(CommandError, match="not over"):
            call_command("close_month", "--month", "2026-04")
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("close_month", "--month", "2026/03")
