"""Who hears of what (SPEC section 7): the outbox rows the event stream writes, the mail the
delivery sends from them (locmem backend here; the SMTP peer in test_notifications_smtp)."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.models import intake_plan_slug
from notifications import delivery
from notifications.models import Notification, OptOut, Status, Watcher
from notifications.services import retry
from tests.api_fixtures import api_for
from tests.factories import ClientFactory, OrganizationFactory, StaffFactory, plan
from tickets import services
from tickets.models import Channel

pytestmark = pytest.mark.django_db
TUESDAY = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=datetime.UTC)


def open_ticket(user, **extra):
    return services.open_ticket(
        organization=user.organization,
        reporter=user,
        subject="Heatmap blank",
        description="Nothing shows.",
        **extra,
    )


def sent(django_capture_on_commit_callbacks=None):
    """Run the delivery as the worker would; the mails it sent, by recipient."""
    mail.outbox.clear()
    delivery.deliver_due()
    return {m.to[0]: m for m in mail.outbox}


def rows(ticket, **filters):
    return list(
        Notification.objects.filter(ticket=ticket, **filters)
        .order_by("id")
        .values_list("kind", "email")
    )


@pytest.fixture
def carol(org):
    """A colleague of alice's, watching her tickets."""
    return ClientFactory(username="carol", organization=org)


def test_opening_acknowledges_the_reporter_and_tells_the_regions_queue(alice, settings):
    with time_machine.travel(TUESDAY, tick=False):
        ticket = open_ticket(alice, priority="P1")
    assert rows(ticket) == [
        ("ack", "alice@acme.example"),
        ("new_ticket", settings.SUPPORT_QUEUE_EMAILS["GMT"]),
    ]
    mails = sent()
    ack = mails["alice@acme.example"]
    assert ack.subject == f"[{ticket.reference}] Heatmap blank"
    assert "Priority: P1 (suggested; our team confirms it at triage)" in ack.body
    assert "First response due by" in ack.body
    assert "GMT (Europe/London)" in ack.body  # the region's local time, with its zone
    assert ack.extra_headers["Auto-Submitted"] == "auto-generated"
    assert ack.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ack.reply_to == ["premier@eservice.localhost"]
    html = ack.alternatives[0]
    assert html[1] == "text/html" and ticket.reference in html[0]


def test_a_new_ticket_goes_to_its_assignee_rather_than_the_queue(alice, charlie):
    ticket = open_ticket(alice)
    services.assign(ticket, assignee=charlie, actor=charlie)
    services.add_comment(ticket, author=alice, body="More details")
    assert rows(ticket, kind="client_reply") == [("client_reply", "charlie@vendor.example")]
    staff_mail = sent()["charlie@vendor.example"]
    # Staff answer through a signed address naming them and the ticket.
    assert staff_mail.reply_to[0].startswith("premier+r")


def test_staff_logging_a_call_acknowledges_the_reporter_not_the_agent(alice, charlie):
    client = api_for(charlie)
    data = {
        "subject": "Down",
        "description": "Phone call",
        "organization": alice.organization.pk,
        "reporter": alice.email,
        "channel": "phone",
    }
    response = client.post("/api/v1/tickets/", data, format="json")
    assert response.status_code == 201, response.json()
    ticket = alice.reported_tickets.get()
    assert ticket.channel == Channel.PHONE
    assert ("ack", "alice@acme.example") in rows(ticket)
    assert not Notification.objects.filter(email=charlie.email).exists()


def test_a_public_staff_reply_reaches_reporter_and_watchers_an_internal_note_nobody(
    alice, carol, charlie, bob
):
    ticket = open_ticket(alice)
    Watcher.objects.create(ticket=ticket, user=carol)
    Watcher.objects.create(ticket=ticket, user=bob)  # another organization: never mailed
    services.add_comment(ticket, author=charlie, body="Secret: the DB fell over", internal=True)
    assert rows(ticket, kind="reply") == []
    services.add_comment(ticket, author=charlie, body="We are on it.")
    assert rows(ticket, kind="reply") == [
        ("reply", "alice@acme.example"),
        ("reply", "carol@acme.example"),
    ]
    mails = sent()
    assert "We are on it." in mails["carol@acme.example"].body
    assert all("Secret" not in m.body for m in mail.outbox)
    assert bob.email not in mails


def test_a_clients_reply_goes_to_the_other_watchers_and_staff_not_back_to_them(
    alice, carol, settings
):
    ticket = open_ticket(alice)
    Watcher.objects.create(ticket=ticket, user=carol)
    services.add_comment(ticket, author=alice, body="Still broken")
    assert rows(ticket, comment__isnull=False) == [
        ("reply", "carol@acme.example"),
        ("client_reply", settings.SUPPORT_QUEUE_EMAILS["GMT"]),
    ]


def test_status_changes_a_client_acts_on(alice, charlie):
    ticket = open_ticket(alice)
    services.set_status(ticket, status="pending", actor=charlie)
    services.resolve(ticket, actor=charlie, resolution="Cache purged.")
    services.reopen(ticket, actor=alice, reason="Back again")
    kinds = [k for k, email in rows(ticket) if email == alice.email]
    assert kinds == ["ack", "waiting", "resolved"]  # her own reopen is not echoed to her
    assert ("staff_reopened", "support-team@eservice.localhost") in rows(ticket)
    resolved = Notification.objects.get(ticket=ticket, kind="resolved")
    assert resolved.data["resolution"] == "Cache purged."


def test_later_mails_thread_to_the_first_one_this_recipient_got(alice, charlie):
    ticket = open_ticket(alice)
    first = sent()["alice@acme.example"]
    services.add_comment(ticket, author=charlie, body="Looking")
    services.add_comment(ticket, author=charlie, body="Found it")
    mail.outbox.clear()
    delivery.deliver_due()
    later = [m for m in mail.outbox if m.to == ["alice@acme.example"]]
    assert len(later) == 2
    for message in later:
        assert message.subject == f"Re: [{ticket.reference}] Heatmap blank"
        assert message.extra_headers["In-Reply-To"] == first.extra_headers["Message-ID"]
        assert message.extra_headers["References"] == first.extra_headers["Message-ID"]


def test_an_escalation_level_is_told_to_the_client_a_warning_never(alice, charlie):
    from escalation.services import request_escalation

    ticket = open_ticket(alice)
    request_escalation(ticket, charlie, "Customer is blocked")
    [row] = Notification.objects.filter(ticket=ticket, kind="escalated")
    assert row.email == alice.email and row.data["level"] == 1
    assert "Customer Support Manager" in sent()[alice.email].body


def test_a_french_recipient_reads_french(org, charlie):
    claire = ClientFactory(username="claire", organization=org, language="fr")
    ticket = open_ticket(claire)
    ack = sent()[claire.email]
    assert "Nous avons bien reçu votre demande" in ack.body
    assert "Priorité" in ack.alternatives[0][0]
    services.add_comment(ticket, author=charlie, body="Nous regardons.")
    reply = sent()[claire.email]
    assert "charlie a répondu" in reply.body and "Nous regardons." in reply.body


def test_delivery_never_sends_a_row_twice(alice):
    open_ticket(alice)
    ids = list(Notification.objects.values_list("pk", flat=True))
    assert delivery.deliver(ids).sent == 2
    assert delivery.deliver(ids).sent == 0  # a retried task
    assert delivery.deliver_due().sent == 0  # the beat re-drive
    assert len(mail.outbox) == 2
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_failing_mail_server_leaves_rows_pending_with_backoff_then_failed(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    ticket = open_ticket(alice)
    delivery.deliver_due()
    row = Notification.objects.filter(ticket=ticket).first()
    assert row.status == Status.PENDING and row.attempts == 1 and "connection" in row.last_error
    assert row.next_attempt_at > row.created_at + datetime.timedelta(seconds=50)
    Notification.objects.update(next_attempt_at=row.created_at, attempts=delivery.MAX_ATTEMPTS - 1)
    delivery.deliver_due()
    row.refresh_from_db()
    assert row.status == Status.FAILED
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert retry(Notification.objects.all()) == 2
    assert delivery.deliver_due().sent == 2


def test_one_click_unsubscribe_turns_that_category_off(alice, client, charlie):
    ticket = open_ticket(alice)
    ack = sent()["alice@acme.example"]
    url = ack.extra_headers["List-Unsubscribe"].strip("<>")
    path = url.split("localhost:8000", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and b"alice@acme.example" in page.content
    assert not OptOut.objects.exists()  # a GET (a link scanner) changes nothing
    csrf_client = type(client)(enforce_csrf_checks=True)
    assert csrf_client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert OptOut.objects.filter(email="alice@acme.example", category="updates").exists()
    services.set_status(ticket, status="pending", actor=charlie)
    services.add_comment(ticket, author=charlie, body="Replies still come")
    mails = sent()
    assert "Replies still come" in mails["alice@acme.example"].body
    waiting = Notification.objects.get(ticket=ticket, kind="waiting")
    assert waiting.status == Status.SKIPPED
    assert client.post(path.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 404


def test_preferences_page_turns_categories_off_and_on(alice, client):
    client.force_login(alice)
    url = reverse("notifications:preferences")
    page = client.get(url)
    assert page.status_code == 200 and b"replies" in page.content
    client.post(url, {"enabled": ["replies", "credits"]})
    assert set(OptOut.objects.values_list("category", flat=True)) == {"updates", "escalations"}
    client.post(url, {"enabled": ["updates", "replies", "credits", "escalations"]})
    assert not OptOut.objects.exists()


def test_credit_claim_goes_to_the_account_manager_and_queue_grant_to_the_client(alice, org):
    from sla.availability import services as credits
    from sla.availability.models import CreditKind, ServiceCredit

    manager = StaffFactory(username="cam")
    org.contract.account_manager = manager
    org.contract.save()
    now = datetime.datetime.now(datetime.UTC)
    credit = ServiceCredit.objects.create(
        organization=org,
        kind=CreditKind.AVAILABILITY,
        month=datetime.date(2026, 1, 1),
        days=2,
        breach_at=now,
        claim_deadline=now + datetime.timedelta(days=30),
    )
    credits.claim(credit, user=alice)
    claim_rows = Notification.objects.filter(credit=credit, kind="credit_claim")
    assert set(claim_rows.values_list("email", flat=True)) == {
        "cam@vendor.example",
        "support-team@eservice.localhost",
    }
    credits.grant(credit, actor=manager)
    assert list(
        Notification.objects.filter(credit=credit, kind="credit").values_list("email", "data")
    ) == [("alice@acme.example", {"action": "granted", "days": 2})]
    mails = sent()
    assert "granted" in mails["alice@acme.example"].body


def test_the_sweep_task_records_client_mail_for_each_level(
    alice, django_capture_on_commit_callbacks
):
    from escalation.services import notify_events
    from escalation.sweep import sweep

    with time_machine.travel(TUESDAY, tick=False):
        ticket = open_ticket(alice, priority="P1")
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=TUESDAY + datetime.timedelta(days=30), notify=notify_events)
    levels = Notification.objects.filter(ticket=ticket, kind="escalated")
    assert sorted(levels.values_list("data__level", flat=True)) == [1, 2, 3]


def test_escalation_notices_are_in_the_outbox_when_the_sweep_commits(alice, org):
    """No task needs to survive a broker outage: the rows exist with the escalation."""
    from escalation.sweep import sweep

    csm = StaffFactory(username="csm", language="fr")
    org.contract.support_manager = csm
    org.contract.save()
    with time_machine.travel(TUESDAY, tick=False):
        ticket = open_ticket(alice, priority="P1")
    sweep(now=TUESDAY + datetime.timedelta(hours=6, minutes=30))  # level 1 due, no task run
    event = ticket.escalations.get(level=1)
    assert event.notified_at is not None and event.notified_to == [csm.email]
    notice = Notification.objects.get(ticket=ticket, kind="escalation")
    assert (notice.email, notice.language, notice.category) == (csm.email, "fr", "escalations")
    mails = sent()
    assert "escaladé au niveau 1" in mails[csm.email].body
    assert mails[csm.email].subject.startswith(f"[{ticket.reference}] Escalade niveau 1")


def test_deferred_escalation_notices_survive_a_broker_outage(
    alice, org, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """With the notices after the commit (ESCALATION_NOTICES_INLINE=false), no task needs
    to survive a broker outage either: the events commit unnotified, which is what the
    re-drive picks up, once."""
    settings.ESCALATION_NOTICES_INLINE = False
    from escalation.models import EscalationEvent
    from escalation.services import notify_events, redrive_notices
    from escalation.sweep import sweep

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(notify_events, "delay", broker_down)
    csm = StaffFactory(username="csm", language="fr")
    org.contract.support_manager = csm
    org.contract.save()
    with time_machine.travel(TUESDAY, tick=False):
        ticket = open_ticket(alice, priority="P1")
    swept_at = TUESDAY + datetime.timedelta(hours=6, minutes=30)  # level 1 due
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sweep(now=swept_at)  # its task cannot be queued: logged, not raised
    assert callbacks
    event = ticket.escalations.get(level=1)
    assert event.notified_at is None  # the durable mark of a notice still owed
    assert not Notification.objects.filter(ticket=ticket, kind="escalation").exists()

    assert redrive_notices(now=swept_at) == 0  # younger than a minute: left to its task
    later = swept_at + datetime.timedelta(minutes=2)
    assert redrive_notices(now=later) == 1
    assert redrive_notices(now=later) == 0
    assert not EscalationEvent.objects.filter(notified_at__isnull=True).exists()
    event.refresh_from_db()
    assert event.notified_at is not None and event.notified_to == [csm.email]
    notice = Notification.objects.get(ticket=ticket, kind="escalation")
    assert (notice.email, notice.language, notice.category) == (csm.email, "fr", "escalations")
    assert Notification.objects.filter(ticket=ticket, kind="escalated").count() == 1
    mails = sent()
    assert "escaladé au niveau 1" in mails[csm.email].body
    assert mails[csm.email].subject.startswith(f"[{ticket.reference}] Escalade niveau 1")


def test_on_call_pages_cannot_be_turned_off(alice, charlie):
    from escalation.notifications import send_oncall_mail

    ticket = open_ticket(alice)
    OptOut.objects.create(email=charlie.email, category="oncall")
    send_oncall_mail(ticket, charlie)
    assert delivery.deliver_due().skipped == 0
    assert [m.to for m in mail.outbox if "P0" in m.subject] == [[charlie.email]]


def test_admin_lists_failed_deliveries_with_their_error_and_retries_them(alice, admin_client):
    open_ticket(alice)
    Notification.objects.update(status=Status.FAILED, attempts=10, last_error="550 mailbox full")
    page = admin_client.get("/admin/notifications/notification/?status__exact=failed")
    assert page.status_code == 200 and b"550 mailbox full" in page.content
    ids = [str(pk) for pk in Notification.objects.values_list("pk", flat=True)]
    response = admin_client.post(
        "/admin/notifications/notification/", {"action": "retry", "_selected_action": ids}
    )
    assert response.status_code == 302
    assert delivery.deliver_due().sent == 2


def test_reply_to_is_the_intake_address_routing_reads(alice, settings):
    """Reply-To and the mail routing share settings.INTAKE_ADDRESSES."""
    settings.INTAKE_ADDRESSES = {"gold": "platinum", "support": "standard"}
    open_ticket(alice)
    assert sent()["alice@acme.example"].reply_to == ["gold@eservice.localhost"]
    assert intake_plan_slug("GOLD") == "platinum"


def test_a_plan_without_its_own_intake_address_replies_to_the_general_one(settings):
    settings.INTAKE_ADDRESSES = {"support": "standard"}
    assert plan("platinum").intake_local_part == "support"


def test_an_organization_without_a_contract_tells_the_whole_team_not_one_region(settings):
    settings.SUPPORT_QUEUE_EMAILS = {"GMT": "gmt@vendor.example", "US-EST": "est@vendor.example"}
    org = OrganizationFactory(name="Initech", contract=None)
    ticket = open_ticket(ClientFactory(username="peter", organization=org))
    assert rows(ticket, kind="new_ticket") == [("new_ticket", settings.SUPPORT_TEAM_EMAIL)]
