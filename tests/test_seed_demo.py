from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Contract, Organization, User
from portal.management.commands.seed_demo import DEMO_PASSWORD
from tickets.models import Channel, Comment, Priority, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Organization, Contract, User, Ticket, Comment, TicketEvent)
    }


def test_one_demo_organization_per_region_with_its_contract():
    seed()
    contracts = Contract.objects.select_related("organization", "plan")
    assert {c.region: c.organization.name for c in contracts} == {
        "GMT": "Demo Retail (GMT)",
        "US-EST": "Demo Travel (US-EST)",
        "US-PST": "Demo Media (US-PST)",
    }
    assert sorted(c.plan.slug for c in contracts) == ["platinum", "platinum", "standard"]
    morgan, avery = User.objects.get(username="morgan"), User.objects.get(username="avery")
    for contract in contracts:
        assert (contract.support_manager, contract.account_manager) == (morgan, avery)
        assert contract.start_date <= timezone.localdate() <= contract.end_date
        assert contract.organization.email_domains[0].endswith(".demo.example")


def test_demo_users_and_their_roles():
    output = seed()
    # The demo's inbound mail made one contact (no password: they never signed in).
    contact = User.objects.get(email="dana@travel.demo.example")
    assert not contact.has_usable_password() and contact.organization.name == "Demo Travel (US-EST)"
    clients = {u.username: u for u in User.objects.filter(is_staff=False).exclude(pk=contact.pk)}
    assert set(clients) == {"alice_gmt", "bob_est", "carol_pst"}
    for client in clients.values():
        assert client.is_org_admin and client.organization is not None
        domain = client.email.rpartition("@")[2]
        assert domain in client.organization.email_domains
    staff = set(User.objects.filter(is_staff=True).values_list("username", flat=True))
    assert staff == {"sam", "morgan", "avery", "admin"}
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.filter(is_superuser=True).exclude(username="admin").exists()
    for user in User.objects.exclude(pk=contact.pk):
        assert user.check_password(DEMO_PASSWORD), user.username
    # The passwords are shown once, marked as demo-only.
    assert output.count(DEMO_PASSWORD) == 7
    assert "DEMO ONLY" in output


def test_tickets_in_every_state_made_through_the_services():
    seed()
    now = timezone.now()
    tickets = Ticket.objects.all()
    assert {t.status for t in tickets} == set(Status.values)
    assert {t.organization.contract.region for t in tickets} == {"GMT", "US-EST", "US-PST"}
    for ticket in tickets:
        assert ticket.received_at < now
        assert ticket.events.filter(action="opened").exists(), ticket  # audited: a service
        for moment in (ticket.first_response_at, ticket.resolved_at, ticket.closed_at):
            assert moment is None or ticket.received_at <= moment <= now
        for comment in ticket.comments.all():
            assert ticket.received_at <= comment.created_at <= now
    phone = tickets.get(channel=Channel.PHONE)
    assert phone.priority == Priority.P0 and phone.reporter.username == "bob_est"
    assert phone.events.get(action="opened").actor.username == "sam"
    excluded = tickets.get(excluded=True)
    assert excluded.exclusion_reason
    assert Comment.objects.filter(internal=True).exists()
    assert Comment.objects.filter(internal=False, author__is_staff=True).exists()
    assert Comment.objects.filter(internal=False, author__is_staff=False).exists()
    assert tickets.filter(priority="P1", suggested_priority="P0").exists()  # re-classified
    assert tickets.filter(status=Status.NEW, triaged_at__isnull=True).exists()


def test_second_run_creates_nothing_and_says_so():
    seed()
    before = counts()
    output = seed()
    assert counts() == before
    assert "already" in output.lower()
    assert DEMO_PASSWORD not in output


def test_existing_superuser_is_kept(django_user_model):
    # The set-up in the spec creates a superuser "admin" first; seeding must not fail on it.
    django_user_model.objects.create_superuser("admin", "root@example.com", "their-own-pw-1")
    output = seed()
    admin = User.objects.get(username="admin")
    assert admin.check_password("their-own-pw-1")
    assert "password unchanged" in output
    assert Ticket.objects.count() >= 5


def test_seed_demo_records_last_months_outage_and_its_availability_credit(db):
    from sla.availability.models import Incident, ServiceCredit

    call_command("seed_demo", stdout=StringIO())
    assert Incident.objects.count() == 1
    # 5.5 h down in a month of ~40,000 eligible minutes: 99.1–99.2 %, one started point below.
    credits = ServiceCredit.objects.filter(kind="availability")
    assert credits.count() == 3 and {c.days for c in credits} == {1}


def test_seed_demo_staffs_the_p0_line_in_every_region_now(db):
    from accounts.models import Region
    from escalation.models import OnCallShift

    call_command("seed_demo", stdout=StringIO())
    now = timezone.now()
    on_call = {s.region for s in OnCallShift.objects.at(now)}
    assert on_call == set(Region.values)


def test_the_demo_story_is_coherent():
    """Events in time order and in the past, breaches only where a deadline was missed,
    every SLA state among open tickets, escalations, credits, mail, and nothing left due."""
    from escalation.models import EscalationEvent
    from sla.availability.models import ServiceCredit
    from sla.display import sla_status
    from tickets.mail.models import InboundMessage

    seed()
    now = timezone.now()
    for ticket in Ticket.objects.select_related("organization__contract"):
        moments = [e.at for e in ticket.events.order_by("id")]
        assert moments == sorted(moments), ticket  # written in the order they happened
        assert all(ticket.received_at <= m <= now for m in moments), ticket
        for phase in ("response", "resolution"):
            due = getattr(ticket, f"{phase}_due_at")
            done = ticket.first_response_at if phase == "response" else ticket.resolved_at
            late = due is not None and not ticket.excluded and (done or now) > due
            assert getattr(ticket, f"{phase}_breached") == late, (ticket, phase)
        assert ticket.next_check_at is None or ticket.next_check_at > now  # nothing due
    open_levels = {sla_status(t).badge for t in Ticket.objects.active().filter(excluded=False)}
    assert {"ok", "warn", "breached"} <= open_levels
    triggers = set(EscalationEvent.objects.values_list("trigger", flat=True))
    assert triggers == {"deadline", "request"}
    assert not EscalationEvent.objects.filter(notified_at__isnull=True).exists()
    statuses = set(ServiceCredit.objects.values_list("status", flat=True))
    assert {"claimed", "granted"} <= statuses
    assert InboundMessage.objects.count() == 2
    assert Ticket.objects.filter(channel=Channel.EMAIL).exists()
    assert Comment.objects.filter(channel=Channel.EMAIL).exists()  # a reply by mail


def test_starting_beat_after_the_seed_pages_no_one():
    from escalation.sweep import sweep

    seed()
    assert sweep().counts()["escalations"] == 0
    assert sweep().counts()["warnings"] == 0


def test_starting_the_worker_after_the_seed_mails_no_one(mailoutbox):
    from notifications.delivery import deliver_due
    from notifications.models import Notification

    seed()
    recorded = Notification.objects.count()
    deliver_due()
    assert recorded > 0  # the story's mail is kept (threading, the admin's outbox) ...
    assert mailoutbox == []  # ... but belongs to its past: nothing goes out at start-up
    assert not Notification.objects.filter(status__in=["pending", "sending", "sent"]).exists()
