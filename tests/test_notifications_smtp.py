"""What a real SMTP server receives from the outbox: headers, threading, multipart,
language, and never an internal note for a client."""

import pytest

from notifications import delivery
from tests.factories import ClientFactory, StaffFactory
from tests.smtp_sink import SmtpSink, use_sink
from tickets import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def sink(settings):
    with SmtpSink() as server:
        use_sink(settings, server)
        yield server


def open_ticket(user):
    return services.open_ticket(
        organization=user.organization,
        reporter=user,
        subject="Zoning shows zeros",
        description="Since the release.",
    )


def text_and_html(message):
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    return parts["text/plain"], parts["text/html"]


def test_the_smtp_server_receives_threaded_signed_unsubscribable_multipart_mail(
    alice, sink, client
):
    agent = StaffFactory(username="sam")
    ticket = open_ticket(alice)
    services.add_comment(ticket, author=agent, body="Internal: blame the CDN", internal=True)
    services.add_comment(ticket, author=agent, body="We found the cause.")
    assert delivery.deliver_due().sent == 3
    ack, reply = sink.to(alice.email)
    queue = sink.to("support-team@eservice.localhost")
    assert len(queue) == 1 and "Since the release." in text_and_html(queue[0])[0]

    assert ack["Subject"] == f"[{ticket.reference}] Zoning shows zeros"
    assert ack["Auto-Submitted"] == "auto-generated"
    assert ack["Reply-To"] == "premier@eservice.localhost"
    assert ack["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(ack["List-Unsubscribe"]).strip()  # a long value may be folded
    assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
    assert "In-Reply-To" not in ack

    assert reply["Subject"] == f"Re: [{ticket.reference}] Zoning shows zeros"
    assert reply["In-Reply-To"] == ack["Message-ID"] == reply["References"]
    assert reply["Message-ID"] != ack["Message-ID"]
    text, html = text_and_html(reply)
    assert "We found the cause." in text and "We found the cause." in html
    for _rcpt, message in sink.messages:
        assert "blame the CDN" not in message.as_string()

    # The one-click POST of the received link turns the category off.
    link = str(reply["List-Unsubscribe"]).strip().strip("<>")
    assert client.post(link.split("8000", 1)[1]).status_code == 200
    services.add_comment(ticket, author=agent, body="Another reply")
    assert delivery.deliver_due().skipped == 1
    assert len(sink.to(alice.email)) == 2


def test_a_french_recipient_receives_french_and_staff_a_signed_reply_to(org, sink):
    claire = ClientFactory(username="claire", organization=org, language="fr")
    agent = StaffFactory(username="sam", language="fr")
    ticket = open_ticket(claire)
    services.assign(ticket, assignee=agent, actor=agent)
    services.add_comment(ticket, author=claire, body="Toujours cassé")
    delivery.deliver_due()
    [ack] = sink.to(claire.email)
    text, html = text_and_html(ack)
    assert "Nous avons bien reçu votre demande" in text and "Priorité" in html
    [notice] = sink.to(agent.email)
    assert notice["Reply-To"].startswith("premier+r") and "a répondu" in text_and_html(notice)[0]
