"""Spec 8: a From header proves nothing. Staff act by mail only through their signed reply
address; forged staff mail is held, moves no clock and shows nothing to the client; inbound
webhooks need the configured secret. Through process(), ingest_email, LMTP and the webhook."""

import base64
import json
import smtplib

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import StaffFactory
from tests.mail import eml, ingest
from tests.test_mail_transports import committed, database_url, lmtp_server, manage  # noqa: F401
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.mail.pipeline import release_held
from tickets.mail.reply_tokens import reply_address
from tickets.models import Comment, Status, Ticket

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:mail_inboundmessage_changelist"


@pytest.fixture
def ticket(alice):
    opened = ingest(eml("plain_new.eml"))
    mail.outbox.clear()
    return opened.ticket


def _signed(user, ticket) -> str:
    return reply_address("premier", "eservice.example", user_id=user.pk, ticket_id=ticket.pk)


def _staff_reply(ticket, staff) -> bytes:
    """A reply quoting the ticket's reference, From: the staff member's address."""
    return eml("outlook_reply.eml", **{"CS-000000": ticket.reference}).replace(
        b"Alice Martin <alice@acme.example>\r\nTo:", f"Staff <{staff.email}>\r\nTo:".encode()
    )


def _untouched(ticket) -> None:
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.status == Status.NEW
    assert not Comment.objects.filter(ticket=ticket, internal=False).exists()
    assert mail.outbox == []


def test_a_forged_staff_reply_is_held_and_changes_nothing(ticket, charlie):
    message = ingest(_staff_reply(ticket, charlie))
    assert message.status == InboundStatus.HELD and message.comment is None
    assert "signed reply address" in message.reason
    _untouched(ticket)


def test_a_staff_reply_through_its_signed_address_is_a_staff_reply(ticket, charlie):
    message = ingest(_staff_reply(ticket, charlie), to=_signed(charlie, ticket))
    assert message.status == InboundStatus.DONE
    assert message.comment.author == charlie and not message.comment.internal
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def test_the_signed_address_alone_finds_the_ticket(ticket, charlie):
    raw = eml("plain_new.eml", **{"alice@acme.example": charlie.email, "<CAF1x2": "<tok-"})
    message = ingest(raw, to=_signed(charlie, ticket))
    assert message.status == InboundStatus.DONE and message.ticket == ticket
    assert message.comment.author == charlie


def test_another_staff_members_token_does_not_vouch(ticket, charlie):
    dave = StaffFactory(username="dave")
    message = ingest(_staff_reply(ticket, charlie), to=_signed(dave, ticket))
    assert message.status == InboundStatus.HELD
    _untouched(ticket)


def test_a_token_for_another_ticket_does_not_vouch(ticket, charlie, alice):
    other = Ticket.objects.create(
        organization=ticket.organization,
        reporter=alice,
        subject="Another",
        description="x",
        received_at=ticket.received_at,
    )
    message = ingest(_staff_reply(ticket, charlie), to=_signed(charlie, other))
    assert message.status == InboundStatus.HELD
    _untouched(ticket)


def test_staff_release_a_held_message_as_a_staff_reply(ticket, charlie, client):
    held = ingest(_staff_reply(ticket, charlie))
    client.force_login(StaffFactory(username="desk", is_superuser=True))
    client.post(reverse(CHANGELIST), {"action": "release", "_selected_action": [held.pk]})
    held.refresh_from_db()
    assert held.status == InboundStatus.DONE and held.comment.author == charlie
    assert release_held(held.pk).comment_id == held.comment_id  # a second release: nothing


def test_staff_discard_a_held_message(ticket, charlie, client):
    held = ingest(_staff_reply(ticket, charlie))
    client.force_login(StaffFactory(username="desk", is_superuser=True))
    listing = client.get(reverse(CHANGELIST))
    assert "held need attention" in listing.content.decode()
    client.post(reverse(CHANGELIST), {"action": "discard", "_selected_action": [held.pk]})
    held.refresh_from_db()
    assert held.status == InboundStatus.DISCARDED
    _untouched(ticket)


# --- through the transports -------------------------------------------------------------


@pytest.mark.integration
@committed
def test_ingest_email_holds_a_forged_staff_reply(ticket, charlie, tmp_path):
    raw = _staff_reply(ticket, charlie)
    result = manage("ingest_email", db_url=database_url(), tmp_path=tmp_path, stdin=raw)
    assert result.returncode == 0, result.stderr
    assert InboundMessage.objects.get(key__contains="outlook").status == InboundStatus.HELD
    _untouched(ticket)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_holds_a_forged_staff_reply_and_accepts_a_signed_one(
    ticket,
    charlie,
    lmtp_server,  # noqa: F811
):
    client = smtplib.LMTP("127.0.0.1", lmtp_server)
    try:
        client.ehlo("mx.eservice.example")
        raw = _staff_reply(ticket, charlie)
        assert client.sendmail(charlie.email, ["premier@eservice.example"], raw) == {}
        _untouched(ticket)
        signed = raw.replace(b"Message-ID: <", b"Message-ID: <signed-")
        assert client.sendmail(charlie.email, [_signed(charlie, ticket)], signed) == {}
    finally:
        client.quit()
    statuses = sorted(InboundMessage.objects.filter(ticket__isnull=False).values_list("status"))
    assert ("done",) in statuses
    assert InboundMessage.objects.filter(status=InboundStatus.HELD).count() == 1
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None


def _postmark(raw: bytes, client, auth: str | None, esp: str = "postmark"):
    payload = {"RawEmail": raw.decode(), "OriginalRecipient": "premier@eservice.example"}
    extra = {}
    if auth:
        extra["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    url = f"/mail/anymail/{esp}/inbound/"
    return client.post(url, json.dumps(payload), content_type="application/json", **extra)


@pytest.mark.integration
def test_the_webhook_is_404_until_a_secret_is_configured(ticket, charlie, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}
    assert _postmark(_staff_reply(ticket, charlie), client, None).status_code == 404
    assert not InboundMessage.objects.filter(status=InboundStatus.HELD).exists()


@pytest.mark.integration
def test_the_webhook_refuses_posts_without_the_secret(ticket, charlie, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    raw = _staff_reply(ticket, charlie)
    assert _postmark(raw, client, None).status_code == 401
    assert _postmark(raw, client, "hook:wrong").status_code == 401
    assert _postmark(raw, client, "hook:s3cret", esp="nosuchesp").status_code == 404
    settings.MAIL_INBOUND_ESPS = ["mailgun"]
    assert _postmark(raw, client, "hook:s3cret").status_code == 404
    assert InboundMessage.objects.count() == 1  # the ticket's own message only
    _untouched(ticket)


@pytest.mark.integration
def test_the_webhook_answers_junk_with_400_and_holds_forged_staff_mail(
    ticket, charlie, client, settings
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"hook:s3cret").decode()}
    for body in ("not json", "[1, 2]", '{"RawEmail": 12}'):
        junk = client.post(
            "/mail/anymail/postmark/inbound/", body, content_type="application/json", **auth
        )
        assert junk.status_code == 400, body
    assert _postmark(_staff_reply(ticket, charlie), client, "hook:s3cret").status_code == 200
    assert InboundMessage.objects.filter(status=InboundStatus.HELD).count() == 1
    _untouched(ticket)
