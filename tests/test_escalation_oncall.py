"""24/7 for critical anomalies: the engineer on call hears of an off-hours P0 at once."""

import datetime

import pytest
import time_machine
from django.template.loader import render_to_string

from accounts.models import Contract
from escalation.models import OnCallShift, PageRecord, on_call_for
from escalation.paging import send_due_digests
from notifications.delivery import deliver_due
from tests.factories import StaffFactory
from tickets import services
from tickets.models import OutboundMessage

UTC = datetime.UTC
SATURDAY_NIGHT = datetime.datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
TUESDAY_MORNING = datetime.datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
WEEK = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def oncall(db):
    engineer = StaffFactory(username="owl", first_name="Olive", language="fr")
    OnCallShift.objects.create(
        engineer=engineer, region="GMT", starts_at=WEEK, ends_at=WEEK + datetime.timedelta(days=7)
    )
    return engineer


def open_at(user, at, priority, capture):
    with time_machine.travel(at, tick=False), capture(execute=True):
        ticket = services.open_ticket(
            organization=user.organization,
            reporter=user,
            subject="Replay down",
            description="Nothing plays.",
            priority=priority,
        )
    deliver_due()  # pages go through the notification outbox like every mail
    return ticket


def test_on_call_for_finds_the_shift(oncall):
    assert on_call_for("GMT", SATURDAY_NIGHT) == oncall
    assert on_call_for("US-EST", SATURDAY_NIGHT) is None
    assert on_call_for("GMT", WEEK + datetime.timedelta(days=7)) is None  # end is exclusive


def test_p0_outside_hours_pages_the_engineer_on_call(
    alice, oncall, django_capture_on_commit_callbacks
):
    ticket = open_at(alice, SATURDAY_NIGHT, "P0", django_capture_on_commit_callbacks)
    page = OutboundMessage.objects.get(ticket=ticket, kind="oncall")
    assert page.to == ["owl@vendor.example"]
    assert "astreinte" in page.body  # her language
    assert page.auto_submitted == "auto-generated"


def test_p0_in_business_hours_pages_nobody(alice, oncall, django_capture_on_commit_callbacks):
    ticket = open_at(alice, TUESDAY_MORNING, "P0", django_capture_on_commit_callbacks)
    assert not OutboundMessage.objects.filter(ticket=ticket, kind="oncall").exists()


def test_p1_outside_hours_pages_nobody(alice, oncall, django_capture_on_commit_callbacks):
    ticket = open_at(alice, SATURDAY_NIGHT, "P1", django_capture_on_commit_callbacks)
    assert not OutboundMessage.objects.filter(ticket=ticket, kind="oncall").exists()


def test_reclassified_to_p0_at_night_pages_once(
    alice, charlie, oncall, django_capture_on_commit_callbacks
):
    ticket = open_at(alice, SATURDAY_NIGHT, "P2", django_capture_on_commit_callbacks)
    later = SATURDAY_NIGHT + datetime.timedelta(minutes=10)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.triage(ticket, priority="P0", actor=charlie)
        services.triage(ticket, priority="P0", actor=charlie)  # unchanged: no second page
    deliver_due()
    assert OutboundMessage.objects.filter(ticket=ticket, kind="oncall").count() == 1


def test_nobody_on_call_pages_the_support_team(alice, settings, django_capture_on_commit_callbacks):
    ticket = open_at(alice, SATURDAY_NIGHT, "P0", django_capture_on_commit_callbacks)
    page = OutboundMessage.objects.get(ticket=ticket, kind="oncall")
    assert page.to == [settings.SUPPORT_TEAM_EMAIL]


def test_contact_include_shows_who_is_on_call_now(oncall):
    with time_machine.travel(SATURDAY_NIGHT, tick=False):
        html = render_to_string("escalation/_contact_oncall.html", {})
    assert "on call now: Olive" in html
    assert html.count("the P0 line is staffed 24/7") == 2  # the two US regions


def test_p0_of_an_organization_without_a_contract_pages_nobody(
    alice, oncall, django_capture_on_commit_callbacks
):
    # No contract: no support region, no 24/7 line. Nobody is paged, nobody in a default region.
    Contract.objects.filter(organization=alice.organization).delete()
    alice = type(alice).objects.get(pk=alice.pk)
    ticket = open_at(alice, SATURDAY_NIGHT, "P0", django_capture_on_commit_callbacks)
    assert not OutboundMessage.objects.filter(ticket=ticket, kind="oncall").exists()
    assert not PageRecord.objects.filter(ticket=ticket).exists()


def test_digest_of_an_organization_that_lost_its_contract_goes_to_the_support_team(
    alice, oncall, settings, django_capture_on_commit_callbacks
):
    first = open_at(alice, SATURDAY_NIGHT, "P0", django_capture_on_commit_callbacks)
    later = SATURDAY_NIGHT + datetime.timedelta(minutes=1)
    second = open_at(alice, later, "P0", django_capture_on_commit_callbacks)
    assert PageRecord.objects.get(ticket=second).paged is False
    Contract.objects.filter(organization=alice.organization).delete()
    assert send_due_digests(SATURDAY_NIGHT + datetime.timedelta(minutes=15)) == 1
    deliver_due()
    digest = OutboundMessage.objects.get(kind="oncall_digest")
    assert digest.to == [settings.SUPPORT_TEAM_EMAIL]
    assert OutboundMessage.objects.get(ticket=first, kind="oncall").to == ["owl@vendor.example"]
