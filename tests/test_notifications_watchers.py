"""Watchers (SPEC sections 6 and 7): the API and the intake's Cc:, of one organization only;
a client's mail reply to a notification lands on its ticket."""

import pytest
from django.core import mail

from notifications import delivery
from notifications.models import Notification, Watcher
from tests.api_fixtures import api_for
from tests.factories import ClientFactory
from tests.mail import eml, ingest
from tickets import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(org):
    return ClientFactory(username="carol", organization=org)


@pytest.fixture
def ticket(alice):
    return services.open_ticket(
        organization=alice.organization, reporter=alice, subject="Replay lag", description="Slow"
    )


def url(ticket, suffix=""):
    return f"/api/v1/tickets/{ticket.reference}/watchers/{suffix}"


def test_a_client_adds_and_removes_a_colleague(alice, carol, ticket):
    client = api_for(alice)
    response = client.post(url(ticket), {"email": "Carol@Acme.example"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "email": carol.email}
    assert client.get(url(ticket)).json() == [body]
    assert client.delete(url(ticket, f"{body['id']}/")).status_code == 204
    assert not Watcher.objects.exists()
    assert client.delete(url(ticket, f"{body['id']}/")).status_code == 404


@pytest.mark.parametrize("email", ["bob@globex.example", "nobody@acme.example", "", "x"])
def test_another_organizations_or_unknown_address_is_refused_naming_email(
    alice, bob, ticket, email
):
    response = api_for(alice).post(url(ticket), {"email": email}, format="json")
    assert response.status_code == 400 and "email" in response.json()
    assert not Watcher.objects.exists()


def test_another_organizations_ticket_is_a_404(bob, ticket):
    client = api_for(bob)
    assert client.get(url(ticket)).status_code == 404
    assert client.post(url(ticket), {"email": bob.email}, format="json").status_code == 404


def test_staff_add_any_client_of_the_tickets_organization(charlie, carol, bob, ticket):
    client = api_for(charlie)
    assert client.post(url(ticket), {"email": carol.email}, format="json").status_code == 201
    assert client.post(url(ticket), {"email": bob.email}, format="json").status_code == 400


def test_watcher_list_costs_constant_queries(alice, ticket, django_assert_max_num_queries):
    for _ in range(5):
        Watcher.objects.create(ticket=ticket, user=ClientFactory(organization=alice.organization))
    client = api_for(alice)
    with django_assert_max_num_queries(4):
        assert len(client.get(url(ticket)).json()) == 5


def test_cc_addresses_of_the_organization_become_watchers_others_are_ignored(alice, carol, bob):
    raw = eml("plain_new.eml").replace(
        b"To: support@eservice.example",
        b"To: support@eservice.example\nCc: Carol <carol@acme.example>, bob@globex.example",
    )
    ticket = ingest(raw).ticket
    assert [w.user for w in ticket.watchers.all()] == [carol]
    services.add_comment(ticket, author=_staff(), body="Looking into it")
    emails = set(Notification.objects.filter(kind="reply").values_list("email", flat=True))
    assert emails == {alice.email, carol.email}


def _staff():
    from tests.factories import StaffFactory

    return StaffFactory(username="sam")


def test_a_clients_mail_reply_to_a_notification_lands_on_the_ticket_trimmed(alice, ticket):
    services.add_comment(ticket, author=_staff(), body="Could you send a HAR file?")
    delivery.deliver_due()
    notice = next(m for m in mail.outbox if m.to == [alice.email] and "HAR" in m.body)
    quoted = "\n".join(f"> {line}" for line in notice.body.splitlines())
    raw = (
        f"From: Alice <{alice.email}>\n"
        f"To: {notice.reply_to[0]}\n"
        f"Subject: Re: {notice.subject}\n"
        f"Message-ID: <alice-answer-1@acme.example>\n"
        f"In-Reply-To: {notice.extra_headers['Message-ID']}\n"
        f"References: {notice.extra_headers['Message-ID']}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        "Here it is, attached next time.\n\n"
        f"On Tue, 3 Mar 2026 at 10:00, eService <support@eservice.localhost> wrote:\n{quoted}\n"
    ).encode()
    message = ingest(raw, to=notice.reply_to[0])
    assert message.ticket_id == ticket.pk and message.reason == "reply"
    comment = ticket.comments.get(message_id="<alice-answer-1@acme.example>")
    assert comment.body.strip() == "Here it is, attached next time."
    assert comment.author == alice


def test_a_colleague_cced_on_a_mail_reply_is_not_sent_that_reply_but_the_next(
    alice, carol, ticket, settings
):
    raw = (
        f"From: Alice <{alice.email}>\nTo: premier@eservice.example\nCc: {carol.email}\n"
        f"Subject: Re: [{ticket.reference}] Replay lag\nMessage-ID: <cc-reply-1@acme.example>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nAdding Carol.\n"
    ).encode()
    assert ingest(raw).reason == "reply"
    assert [w.user for w in ticket.watchers.all()] == [carol]
    reply_rows = Notification.objects.filter(kind__in=["reply", "client_reply"])
    assert set(reply_rows.values_list("email", flat=True)) == {settings.SUPPORT_QUEUE_EMAILS["GMT"]}
    services.add_comment(ticket, author=_staff(), body="Noted")
    emails = set(Notification.objects.filter(kind="reply").values_list("email", flat=True))
    assert emails == {alice.email, carol.email}
