"""The intake pipeline: store, route, thread, trim, reopen, acknowledge, no loops."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import User
from tests.factories import ClientFactory, OrganizationFactory, plan
from tests.mail import auto_replies, eml, ingest
from tickets import services
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.mail.pipeline import process
from tickets.mail.reply_tokens import reply_address
from tickets.mail.store import store
from tickets.models import Attachment, Comment, OutboundMessage, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(alice):
    message = ingest(eml("plain_new.eml"))
    auto_replies()  # its acknowledgement is sent before the test begins
    mail.outbox.clear()
    return message.ticket


def _ack(ticket):
    auto_replies()  # the outbox delivers it, which records the sent mail
    return OutboundMessage.objects.get(ticket=ticket, kind="ack")


# --- store and idempotency ----------------------------------------------------------------


def test_a_message_delivered_twice_makes_one_ticket(alice):
    first = ingest(eml("plain_new.eml"))
    second = ingest(eml("plain_new.eml"))
    assert first.pk == second.pk and second.status == InboundStatus.DONE
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert len(auto_replies()) == 1


def test_store_keeps_raw_bytes_envelope_and_headers(alice):
    raw = eml("plain_new.eml")
    message, created = store(raw, "bounce+x@acme.example", ["Support@eService.example"])
    assert created and bytes(message.raw) == raw
    message.refresh_from_db()
    assert message.key == "<CAF1x2plain@mail.acme.example>"
    assert message.envelope_to == ["support@eservice.example"]
    assert message.envelope_from == "bounce+x@acme.example"
    assert message.from_address == "alice@acme.example"
    assert message.subject == "Heatmap not loading on the pricing page"
    assert message.date == datetime.datetime(2026, 3, 3, 9, 15, 42, tzinfo=datetime.UTC)
    assert message.status == InboundStatus.STORED
    again, created_again = store(raw, None, [])
    assert again.pk == message.pk and not created_again


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(alice):
    assert ingest(eml("missing_message_id.eml")).status == InboundStatus.DONE
    assert ingest(eml("missing_message_id.eml")).status == InboundStatus.DONE
    assert Ticket.objects.count() == 1


def test_a_processing_error_is_stored_with_its_traceback_and_can_be_retried(alice, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr("tickets.mail.pipeline.services.open_ticket", boom)
    message = ingest(eml("plain_new.eml"))
    assert message.status == InboundStatus.FAILED
    assert message.error == "RuntimeError: database hiccup"
    assert "Traceback" in message.traceback and message.attempts == 1
    assert Ticket.objects.count() == 0 and message.ticket is None
    monkeypatch.undo()
    retried = process(message.pk)
    assert retried.status == InboundStatus.DONE and retried.error == "" and retried.attempts == 2
    assert Ticket.objects.count() == 1


def test_a_done_message_is_not_processed_again(ticket):
    message = InboundMessage.objects.get(ticket=ticket)
    assert process(message.pk).status == InboundStatus.DONE
    assert Ticket.objects.count() == 1 and InboundMessage.objects.get().attempts == 1


# --- new tickets and routing ----------------------------------------------------------------


def test_a_new_ticket_is_opened_for_a_known_contact(alice):
    message = ingest(eml("plain_new.eml"))
    ticket = message.ticket
    assert message.status == InboundStatus.DONE and message.reason == "new ticket"
    assert ticket.organization == alice.organization and ticket.reporter == alice
    assert ticket.channel == "email" and ticket.subject == "Heatmap not loading on the pricing page"
    assert "the heatmap of https://acme.example/pricing stays blank" in ticket.description
    assert ticket.suggested_priority is None


def test_sender_lookup_ignores_case(alice):
    raw = eml("plain_new.eml").replace(b"alice@acme.example", b"ALICE@Acme.Example")
    assert ingest(raw).ticket.reporter == alice


def test_critical_in_the_subject_suggests_p0_only(alice):
    ticket = ingest(eml("premier_critical.eml"), to="premier@support.vendor-mail.example").ticket
    assert ticket.suggested_priority == "P0"
    assert ticket.triaged_at is None  # staff still classify it


@pytest.mark.parametrize(
    ("recipient", "queue"),
    [
        ("premier@support.vendor-mail.example", "platinum"),
        ("PREMIER+acme@another-domain.example", "platinum"),
        ("support@eservice.example", "standard"),
        ("Support@any.example", "standard"),
    ],
)
def test_routing_compares_the_local_part_on_any_domain(alice, recipient, queue):
    message = ingest(eml("plain_new.eml"), to=recipient)
    notes = Comment.objects.filter(ticket=message.ticket, internal=True)
    mismatch = [n for n in notes if "contract's plan" in n.body]
    # Acme is a Platinum client: only the support@ (Standard) address is flagged for staff.
    assert bool(mismatch) == (queue != "platinum")


def test_routing_reads_the_to_header_when_there_is_no_envelope(alice):
    message = ingest(eml("premier_critical.eml"), to="")
    assert message.status == InboundStatus.DONE
    assert not Comment.objects.filter(ticket=message.ticket, internal=True).exists()


def test_a_sender_from_a_client_domain_becomes_a_contact(org):
    message = ingest(eml("new_contact.eml"))
    user = User.objects.get(email__iexact="dave.durand@acme.example")
    assert user.organization == org and not user.has_usable_password()
    assert (user.first_name, user.last_name) == ("Dave", "Durand")
    assert message.ticket.reporter == user and message.ticket.organization == org
    # A second mail from the same person reuses the contact.
    ingest(eml("new_contact.eml").replace(b"newcontact-1", b"newcontact-2"))
    assert User.objects.filter(email__iexact="dave.durand@acme.example").count() == 1


def test_an_unknown_sender_is_quarantined_and_told_once_per_day(org):
    message = ingest(eml("unknown_sender.eml"))
    assert message.status == InboundStatus.QUARANTINED and message.ticket is None
    assert Ticket.objects.count() == 0
    assert len(auto_replies()) == 1
    reply = auto_replies()[0]
    assert reply.to == ["eve@unknown-company.example"]
    assert reply.extra_headers["Auto-Submitted"] == "auto-replied"
    assert reply.extra_headers["In-Reply-To"] == "<unknown-1@mail.unknown-company.example>"
    assert "administrator" in reply.body
    ingest(eml("unknown_sender.eml").replace(b"unknown-1@", b"unknown-2@"))
    assert len(auto_replies()) == 1
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
        ingest(eml("unknown_sender.eml").replace(b"unknown-1@", b"unknown-3@"))
    assert len(auto_replies()) == 2


def test_an_unknown_auto_reply_is_ignored_not_quarantined_and_never_answered(org):
    raw = eml("auto_reply.eml").replace(b"alice@acme.example", b"eve@unknown-company.example")
    assert ingest(raw).status == InboundStatus.IGNORED
    assert auto_replies() == []


# --- acknowledgement ----------------------------------------------------------------------------


def test_a_new_ticket_is_acknowledged_once_threaded_and_auto_replied(alice):
    message = ingest(eml("plain_new.eml"))
    ingest(eml("plain_new.eml"))
    assert len(auto_replies()) == 1
    ack = auto_replies()[0]
    ticket = message.ticket
    assert ack.to == ["alice@acme.example"]
    assert ack.subject == f"[{ticket.reference}] Heatmap not loading on the pricing page"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["In-Reply-To"] == "<CAF1x2plain@mail.acme.example>"
    assert ack.extra_headers["References"] == "<CAF1x2plain@mail.acme.example>"
    assert ack.extra_headers["Message-ID"] == _ack(ticket).message_id
    assert ticket.reference in ack.body and "Priority: P2" in ack.body
    if ticket.response_due_at:
        assert "First response due by" in ack.body


def test_the_acknowledgement_gives_the_deadline_in_local_time_in_the_clients_language(alice):
    contract = alice.organization.contract
    contract.region = "US-PST"
    contract.save()
    alice.language = "fr"
    alice.save()
    ticket = ingest(eml("forbidden_exe.eml")).ticket
    [ack] = auto_replies()
    assert ticket.response_due_at is not None
    local = ticket.response_due_at.astimezone(ZoneInfo("America/Los_Angeles"))
    assert f"{local:%Y-%m-%d %H:%M}" in ack.body and "(America/Los_Angeles)" in ack.body
    assert "UTC" not in ack.body
    assert "Nous avons bien reçu" in ack.body or "Priorité" in ack.body
    assert "Ces pièces jointes n’ont pas été acceptées" in ack.body and "setup.exe" in ack.body
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.extra_headers["In-Reply-To"].startswith("<")


def test_acknowledgements_are_rate_limited_per_sender(alice):
    for n in range(7):
        raw = eml("plain_new.eml").replace(b"CAF1x2plain@", f"flood-{n}@".encode())
        ingest(raw)
    assert Ticket.objects.count() == 7
    assert len(auto_replies()) == 5


# --- loops ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("bounce.eml", "Auto-Submitted: auto-replied"),
        ("bulk.eml", "Precedence: bulk"),
    ],
)
def test_automatic_mail_never_creates_tickets_nor_replies(alice, name, reason):
    message = ingest(eml(name))
    assert message.status == InboundStatus.IGNORED and message.reason == reason
    assert Ticket.objects.count() == 0 and auto_replies() == []


def test_auto_reply_to_an_existing_ticket_adds_nothing(ticket):
    message = ingest(eml("auto_reply.eml", **{"CS-000000": ticket.reference}))
    assert message.status == InboundStatus.IGNORED
    assert not Comment.objects.filter(ticket=ticket).exists() and auto_replies() == []


def test_a_null_envelope_sender_is_a_bounce(alice):
    message = ingest(eml("plain_new.eml"), mail_from="<>")
    assert message.status == InboundStatus.IGNORED and Ticket.objects.count() == 0


def test_our_own_message_coming_back_is_ignored(ticket):
    ack = _ack(ticket)
    raw = eml("plain_new.eml").replace(b"<CAF1x2plain@mail.acme.example>", ack.message_id.encode())
    message = ingest(raw)
    assert (
        message.status == InboundStatus.IGNORED and message.reason == "a message this product sent"
    )
    assert Ticket.objects.count() == 1


# --- threading ----------------------------------------------------------------------------------


def test_a_reply_threads_by_in_reply_to_and_is_trimmed(ticket, alice):
    raw = eml(
        "gmail_reply.eml", **{"<ack-placeholder@eservice.localhost>": _ack(ticket).message_id}
    )
    message = ingest(raw)
    assert message.status == InboundStatus.DONE and message.ticket == ticket
    comment = message.comment
    assert comment.body == "Here is the URL that fails: https://acme.example/pricing?v=2"
    assert comment.author == alice and comment.channel == "email" and not comment.internal
    assert comment.message_id == "<CAF1x2gmailreply@mail.gmail.com>"
    assert Ticket.objects.count() == 1 and auto_replies() == []  # replies are not acknowledged


def test_a_reply_threads_by_references_to_the_clients_first_message(ticket):
    raw = (
        eml("gmail_reply.eml")
        .replace(b"In-Reply-To: <ack-placeholder@eservice.localhost>\r\n", b"")
        .replace(b" <ack-placeholder@eservice.localhost>", b"")
    )
    assert b"References: <CAF1x2plain@mail.acme.example>\r\n" in raw
    assert ingest(raw).ticket == ticket


def test_a_reply_threads_by_the_subject_reference(ticket):
    message = ingest(eml("outlook_reply.eml", **{"CS-000000": ticket.reference}))
    assert message.ticket == ticket and Ticket.objects.count() == 1
    assert message.comment.body == "It still happens after clearing the cache.\n\nAlice"


def test_a_french_reply_threads_and_loses_its_signature(ticket):
    message = ingest(eml("french_reply.eml", **{"CS-000000": ticket.reference}))
    assert message.comment.body.endswith("Cordialement,\nAlice")
    assert "Nous avons bien reçu" not in message.comment.body


def test_a_subject_reference_must_be_bracketed(ticket):
    raw = eml("outlook_reply.eml").replace(b"[CS-000000]", f"{ticket.reference}".encode())
    message = ingest(raw)
    assert message.ticket != ticket and Ticket.objects.count() == 2


def test_another_organizations_reference_opens_a_ticket_in_the_senders_own_org(ticket, bob):
    raw = eml("other_org_reference.eml", **{"CS-000000": ticket.reference})
    message = ingest(raw)
    assert message.status == InboundStatus.DONE
    assert message.ticket != ticket and message.ticket.organization == bob.organization
    assert not Comment.objects.filter(ticket=ticket).exists()
    assert ticket.reference not in message.ticket.subject


def test_another_organizations_in_reply_to_does_not_append(ticket, bob):
    raw = eml("other_org_reference.eml").replace(
        b"Subject: Re: [CS-000000] ",
        b"In-Reply-To: " + _ack(ticket).message_id.encode() + b"\r\nSubject: Re: ",
    )
    message = ingest(raw)
    assert message.ticket.organization == bob.organization
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_an_unknown_sender_quoting_a_reference_is_quarantined(ticket):
    raw = eml("outlook_reply.eml", **{"CS-000000": ticket.reference}).replace(
        b"alice@acme.example", b"mallory@evil.example"
    )
    assert ingest(raw).status == InboundStatus.QUARANTINED
    assert not Comment.objects.filter(ticket=ticket).exists()


def test_staff_reply_by_email_is_a_public_comment_and_first_response(ticket, charlie):
    raw = eml("outlook_reply.eml", **{"CS-000000": ticket.reference}).replace(
        b"Alice Martin <alice@acme.example>\r\nTo:", b"Charlie <charlie@vendor.example>\r\nTo:"
    )
    # Through the signed reply address of charlie's notification (spec 8).
    signed = reply_address("premier", "eservice.example", user_id=charlie.pk, ticket_id=ticket.pk)
    message = ingest(raw, to=signed)
    assert message.comment.author == charlie and not message.comment.internal
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None and ticket.status == Status.OPEN


def test_staff_mail_about_no_ticket_is_quarantined_silently(charlie):
    raw = eml("plain_new.eml").replace(b"alice@acme.example", b"charlie@vendor.example")
    assert ingest(raw).status == InboundStatus.QUARANTINED and auto_replies() == []


# --- reopen or follow-up ----------------------------------------------------------------------


def _resolve(ticket, charlie, days_ago):
    at = timezone.now() - datetime.timedelta(days=days_ago)
    type(ticket).objects.filter(pk=ticket.pk).update(received_at=at - datetime.timedelta(hours=1))
    ticket.refresh_from_db()
    return services.resolve(ticket, actor=charlie, at=at)


def test_a_reply_to_a_recently_resolved_ticket_reopens_it(ticket, charlie):
    _resolve(ticket, charlie, days_ago=3)
    message = ingest(eml("outlook_reply.eml", **{"CS-000000": ticket.reference}))
    ticket.refresh_from_db()
    assert message.ticket == ticket and ticket.status == Status.OPEN
    assert Ticket.objects.count() == 1


def test_a_reply_after_the_reopen_window_opens_a_linked_ticket(ticket, charlie, settings):
    settings.EMAIL_REOPEN_DAYS = 7
    _resolve(ticket, charlie, days_ago=8)
    message = ingest(eml("outlook_reply.eml", **{"CS-000000": ticket.reference}))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    new = message.ticket
    assert new != ticket and new.follows == ticket
    assert Comment.objects.filter(ticket=new, internal=True, body__contains=ticket.reference)
    assert len(auto_replies()) == 1 and new.reference in auto_replies()[0].subject


def test_a_reply_to_a_closed_ticket_opens_a_linked_ticket(ticket, charlie):
    services.set_status(ticket, status=Status.RESOLVED, actor=charlie)
    services.set_status(ticket, status=Status.CLOSED, actor=charlie)
    message = ingest(eml("outlook_reply.eml", **{"CS-000000": ticket.reference}))
    assert message.ticket.follows == ticket


# --- content --------------------------------------------------------------------------------------


def test_attachments_and_inline_images_are_stored(alice):
    ticket = ingest(eml("attachment_pdf_inline_image.eml")).ticket
    files = {a.filename: a for a in Attachment.objects.filter(ticket=ticket)}
    assert set(files) == {"replay-report.pdf", "attachment-3.png"}
    assert files["replay-report.pdf"].file.read().startswith(b"%PDF")
    assert files["attachment-3.png"].content_type == "image/png"


def test_a_refused_attachment_is_noted_and_the_sender_told(alice):
    message = ingest(eml("forbidden_exe.eml"))
    assert message.status == InboundStatus.DONE
    ticket = message.ticket
    assert not Attachment.objects.filter(ticket=ticket).exists()
    note = Comment.objects.get(ticket=ticket, internal=True)
    assert "setup.exe" in note.body and "not accepted" in note.body
    assert "setup.exe" in auto_replies()[0].body


def test_an_attachment_over_the_size_limit_is_refused_not_dropped(alice, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = ingest(eml("attachment_pdf_inline_image.eml")).ticket
    note = Comment.objects.get(ticket=ticket, internal=True)
    assert "replay-report.pdf" in note.body and "limit" in note.body


def test_html_only_mail_is_stored_sanitized_and_ticket_gets_plain_text(alice):
    message = ingest(eml("html_only_script.eml"))
    assert (
        "<script" not in message.html and "<p>The export button does nothing.</p>" in message.html
    )
    assert "The export button does nothing." in message.ticket.description
    assert "<" not in message.ticket.description


@pytest.mark.parametrize(
    ("name", "subject", "text"),
    [
        ("iso8859_body.eml", "Probleme de connexion", "même après réinitialisation"),
        ("shiftjis_body.eml", None, "ヒートマップが表示されません"),
        ("rfc2047_subject_latin1.eml", "Données manquantes depuis le 1er mars", "No data"),
        ("rfc2047_subject_utf8.eml", "Relecture de session bloquée — écran noir", "black"),
        ("malformed_mime.eml", "Broken upload form", "error 500"),
        ("forwarded.eml", "Fwd: Heatmap data missing for March", "No heatmap data"),
        ("multipart_alternative.eml", "Zoning numbers look wrong", "250%"),
    ],
)
def test_corpus_messages_make_readable_tickets(alice, name, subject, text):
    ticket = ingest(eml(name)).ticket
    if subject:
        assert ticket.subject == subject
    assert text in ticket.description


def test_a_new_organization_domain_contact_on_premier_address(org):
    plan("platinum")
    other = OrganizationFactory(name="Initech")
    raw = eml("new_contact.eml").replace(b"ACME.example", b"initech.example")
    message = ingest(raw, to="premier@eservice.example")
    assert message.ticket.organization == other


def test_a_client_without_organization_contract_still_cannot_post_to_others(bob, ticket):
    ClientFactory(username="carol", organization=bob.organization)
    raw = eml(
        "gmail_reply.eml", **{"<ack-placeholder@eservice.localhost>": _ack(ticket).message_id}
    )
    raw = raw.replace(b"alice@acme.example", b"carol@globex.example")
    message = ingest(raw)
    assert message.ticket.organization == bob.organization and message.ticket != ticket
