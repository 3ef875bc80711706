"""Ticket detail, replies and attachment downloads: tenancy and what a client may see."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import StaffFactory
from tickets import services
from tickets.models import Status, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def ticket(alice):
    with time_machine.travel(T0, tick=False):
        return services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject="Session replay shows a blank page",
            description="Replays of /checkout are blank since 09:00.",
            priority="P0",
            feature="session_replay",
            files=[SimpleUploadedFile("console.txt", b"TypeError: x is undefined")],
        )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def url(ticket):
    return f"/tickets/{ticket.reference}/"


def test_detail_shows_the_ticket_header_and_description(alice_client, ticket):
    response = alice_client.get(url(ticket))
    html = response.content.decode()
    assert response.status_code == 200
    assert ticket.reference in html
    assert "Session replay shows a blank page" in html
    assert "Replays of /checkout are blank" in html
    assert "Support team" in html  # nobody assigned yet
    assert "console.txt" in html


def test_another_organizations_ticket_is_a_404(client, bob, ticket):
    client.force_login(bob)
    assert client.get(url(ticket)).status_code == 404
    reply = client.post(url(ticket), {"body": "let me in"})
    assert reply.status_code == 404
    assert not ticket.comments.exists()


def test_an_unknown_or_malformed_reference_is_a_404(alice_client, ticket):
    assert alice_client.get("/tickets/CS-999999/").status_code == 404
    assert alice_client.get("/tickets/hello/").status_code == 404


def test_lowercase_reference_redirects_to_the_canonical_one(alice_client, ticket):
    response = alice_client.get(f"/tickets/{ticket.reference.lower()}/")
    assert response.status_code == 302
    assert response["Location"] == url(ticket)


def test_internal_notes_never_reach_the_client(alice_client, client, ticket, charlie):
    services.add_comment(
        ticket,
        author=charlie,
        body="SECRET: customer broke their tag",
        internal=True,
        files=[SimpleUploadedFile("internal-trace.txt", b"stack")],
    )
    services.add_comment(ticket, author=charlie, body="We are looking into it.")
    html = alice_client.get(url(ticket)).content.decode()
    assert "We are looking into it." in html
    assert "SECRET" not in html
    assert "internal-trace.txt" not in html


def test_staff_using_the_portal_see_internal_notes_marked_as_such(client, ticket, charlie):
    services.add_comment(ticket, author=charlie, body="Check the CDN logs", internal=True)
    client.force_login(charlie)
    html = client.get(url(ticket)).content.decode()
    assert "Check the CDN logs" in html
    assert "Internal note" in html


def test_suggested_priority_is_shown_when_staff_changed_it(alice_client, ticket, charlie):
    services.triage(ticket, priority="P2", actor=charlie)
    html = alice_client.get(url(ticket)).content.decode()
    assert "suggested: P0" in html


def test_assignee_is_shown_by_first_name_only(alice_client, ticket):
    agent = StaffFactory(username="dsmith", first_name="Dana", last_name="Smith")
    services.assign(ticket, assignee=agent, actor=agent)
    html = alice_client.get(url(ticket)).content.decode()
    assert "Dana" in html
    assert "Smith" not in html


def test_excluded_ticket_shows_the_reason(alice_client, ticket, charlie):
    services.set_exclusion(
        ticket, excluded=True, reason="Reported on Firefox, not covered", actor=charlie
    )
    html = alice_client.get(url(ticket)).content.decode()
    assert "Reported on Firefox, not covered" in html


def test_reply_with_attachment_is_added_to_the_conversation(alice_client, ticket):
    response = alice_client.post(
        url(ticket),
        {
            "body": "It also happens on /cart.",
            "attachments": [SimpleUploadedFile("cart.txt", b"x")],
        },
    )
    assert response.status_code == 302
    comment = ticket.comments.get()
    assert (comment.body, comment.internal, comment.channel) == (
        "It also happens on /cart.",
        False,
        "web",
    )
    assert comment.attachments.get().filename == "cart.txt"
    assert "It also happens on /cart." in alice_client.get(url(ticket)).content.decode()


def test_empty_reply_is_a_form_error(alice_client, ticket):
    response = alice_client.post(url(ticket), {"body": "   "})
    assert response.status_code == 200
    assert "body" in response.context["form"].errors
    assert not ticket.comments.exists()


def test_reply_with_forbidden_file_is_a_form_error(alice_client, ticket):
    response = alice_client.post(
        url(ticket), {"body": "see file", "attachments": [SimpleUploadedFile("x.exe", b"MZ")]}
    )
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert not ticket.comments.exists()


def test_reply_to_a_resolved_ticket_reopens_it(alice_client, ticket, charlie):
    services.resolve(ticket, actor=charlie, resolution="Cache purged")
    alice_client.post(url(ticket), {"body": "Still blank for me."})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None


def test_closed_ticket_offers_a_new_ticket_instead_of_the_reply_form(alice_client, ticket, charlie):
    services.resolve(ticket, actor=charlie)
    services.set_status(ticket, status=Status.CLOSED, actor=charlie)
    html = alice_client.get(url(ticket)).content.decode()
    assert 'name="body"' not in html
    assert 'href="/tickets/new/"' in html
    response = alice_client.post(url(ticket), {"body": "hello?"})
    assert response.status_code == 200
    assert response.context["form"].errors["body"]
    assert not ticket.comments.exists()


def test_public_events_form_the_activity_list(alice_client, ticket, charlie):
    services.triage(ticket, priority="P1", actor=charlie)
    activity = [row["text"] for row in alice_client.get(url(ticket)).context["activity"]]
    assert any("P0" in text and "P1" in text for text in activity)
    assert any("Web portal" in text for text in activity)  # the "opened" event


def test_attachment_download_respects_tenancy(client, alice, bob, ticket):
    attachment = ticket.attachments.get()
    client.force_login(bob)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404
    client.force_login(alice)
    response = client.get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"TypeError: x is undefined"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="console.txt"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_internal_attachment_is_a_404_for_the_client(client, alice, charlie, ticket):
    note = services.add_comment(
        ticket,
        author=charlie,
        body="trace",
        internal=True,
        files=[SimpleUploadedFile("trace.txt", b"internal")],
    )
    attachment = note.attachments.get()
    client.force_login(alice)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 404
    client.force_login(charlie)
    assert client.get(f"/attachments/{attachment.pk}/").status_code == 200


def test_user_text_is_escaped(alice_client, alice):
    evil = services.open_ticket(
        organization=alice.organization,
        reporter=alice,
        subject="<script>alert(1)</script>",
        description="<img src=x onerror=alert(2)>",
    )
    html = alice_client.get(url(evil)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert Ticket.objects.count() == 1
