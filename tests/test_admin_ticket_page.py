"""The agent's ticket page: header, conversation, composer verbs, macros, audit in words,
collision warning, and a flat number of queries."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import StaffFactory
from tests.test_admin_utils import admin_form_data
from tickets import presence, services
from tickets.macros import render_body
from tickets.models import Attachment, Comment, Macro, Status

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 11, 0, tzinfo=datetime.UTC)  # Wednesday, business hours
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _no_seeded_macros():
    """The seeded macros would join every list below; each test makes its own."""
    Macro.objects.all().delete()


@pytest.fixture
def staff_client(client, charlie):
    charlie.first_name, charlie.last_name = "Charlie", "Agent"
    charlie.save()
    client.force_login(charlie)
    return client


@pytest.fixture
def ticket(alice):
    alice.first_name, alice.last_name = "Alice", "Client"
    alice.save()
    return services.open_ticket(
        organization=alice.organization,
        reporter=alice,
        subject="Heatmap blank",
        description="Nothing renders on the product page.",
        priority="P1",
        received_at=NOW - datetime.timedelta(hours=2),
        files=[SimpleUploadedFile("screen.png", PNG, content_type="image/png")],
    )


def url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def post(client, ticket, **overrides):
    data = admin_form_data(client.get(url(ticket)), **overrides)
    return client.post(url(ticket), data)


def test_page_shows_header_conversation_and_thumbnails(staff_client, ticket, charlie):
    services.add_comment(ticket, author=charlie, body="Looking at the CDN logs.", internal=True)
    services.add_comment(ticket, author=charlie, body="We are on it.")
    html = staff_client.get(url(ticket)).content.decode()
    assert ticket.reference in html and "Acme" in html and "Platinum" in html
    assert "GMT (London)" in html and "Response due" in html and "Resolution due" in html
    # Chronological: the report, the note, the reply; the note looks different.
    report = html.index("Nothing renders on the product page.")
    assert report < html.index("Looking at the CDN logs.") < html.index("We are on it.")
    assert 'class="ws-message ticket-note ws-note"' in html
    image = Attachment.objects.get(filename="screen.png")
    assert f'<img src="/attachments/{image.pk}/"' in html


def test_audit_trail_speaks_in_names_and_local_times(staff_client, ticket, charlie):
    ticket.organization.contract.region = "US-PST"
    ticket.organization.contract.save()
    services.triage(ticket, priority="P0", actor=charlie)
    html = staff_client.get(url(ticket)).content.decode()
    assert "Charlie Agent" in html
    assert "re-classified the priority — Priority: P1 — High → P0 — Critical" in html
    assert "Wed 4 Mar 2026, 03:00 PST" in html  # 11:00 UTC in Los Angeles
    services.assign(ticket, assignee=charlie, actor=charlie)
    trail = staff_client.get(url(ticket)).content.decode().split('id="ws-audit-title"')[1]
    assert "Assignee: — → Charlie Agent" in trail  # the person's name, not the username
    assert "+00:00" not in html.split('id="ws-audit-title"')[1]


def test_a_french_agent_reads_the_trail_and_sla_timeline_in_french(staff_client, ticket, charlie):
    """Events written while English was active are worded at read time for the reader."""
    services.triage(ticket, priority="P0", actor=charlie)
    services.resolve(ticket, actor=charlie, resolution="Purged the CDN cache.")
    charlie.language = "fr"
    charlie.save()
    html = staff_client.get(url(ticket)).content.decode()
    trail = html.split('id="ws-audit-title"')[1]
    timeline = html.split('id="ws-timeline-title"')[1].split('id="ws-audit-title"')[0]
    assert "Journal d’audit" in html
    assert "a requalifié la priorité — Priorité : P1 — Haute → P0 — Critique" in trail
    assert "a résolu le ticket" in trail
    assert "re-classified" not in trail and "resolved the ticket" not in trail
    assert "mars 2026" in timeline  # deadlines worded in French
    assert "response due" not in timeline and "clock started" not in timeline


def test_reply_with_an_attachment_is_public(staff_client, ticket, charlie):
    upload = SimpleUploadedFile("fix.txt", b"purge the cache", content_type="text/plain")
    response = post(staff_client, ticket, new_comment="Try this.", attachments=upload)
    assert response.status_code == 302
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.internal) == (charlie, False)
    assert comment.attachments.get().filename == "fix.txt"


def test_attachment_of_a_refused_type_is_a_form_error(staff_client, ticket):
    upload = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = post(staff_client, ticket, new_comment="See file", attachments=upload)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["attachments"]
    assert not Comment.objects.exists()


def test_reply_and_set_waiting_for_the_client(staff_client, ticket):
    response = post(staff_client, ticket, new_comment="Which browser?", _reply_wait="1")
    assert response.status_code == 302 and response.url == url(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.comments.get().body == "Which browser?"


def test_waiting_for_the_client_needs_a_public_question(staff_client, ticket):
    response = post(staff_client, ticket, _reply_wait="1")
    assert "Write what you need from the client." in response.content.decode()
    response = post(staff_client, ticket, new_comment="x", comment_internal="on", _reply_wait="1")
    assert "The client cannot read an internal note." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and not ticket.comments.exists()


def test_resolve_button_requires_the_note(staff_client, ticket):
    response = post(staff_client, ticket, _resolve="1")
    assert response.status_code == 200
    assert "Write a resolution note" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW

    response = post(staff_client, ticket, _resolve="1", resolution="CDN cache purged.")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution) == (Status.RESOLVED, "CDN cache purged.")
    assert "CDN cache purged." in staff_client.get(url(ticket)).content.decode()


def test_assign_to_me_button(staff_client, ticket, charlie):
    assert post(staff_client, ticket, _assign_me="1").status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == charlie


def test_assign_to_me_never_sends_the_draft(staff_client, ticket, charlie):
    response = post(staff_client, ticket, _assign_me="1", new_comment="half-written", priority="P0")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (charlie, "P0")
    assert not ticket.comments.exists()


def test_internal_note_moves_no_clock(staff_client, ticket):
    post(staff_client, ticket, new_comment="Customer's CDN again", comment_internal="on")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert Comment.objects.get().internal


# --- macros -------------------------------------------------------------------------------


def test_macro_body_placeholders_are_filled_for_the_ticket(staff_client, ticket):
    Macro.objects.create(
        title="Ack",
        body="Hello {client_name}, {reference} is ours; reply due {response_due}. {unknown}",
        set_status=Status.PENDING,
        assign_to_me=True,
    )
    Macro.objects.create(title="Accusé", body="Bonjour {client_name}", language="fr")
    context = staff_client.get(url(ticket)).context
    macros = context["macros"]
    assert [m["title"] for m in macros] == ["Ack"]  # Alice reads English
    body = macros[0]["body"]
    assert body.startswith(f"Hello Alice Client, {ticket.reference} is ours; reply due 2026-03-04")
    assert body.endswith("{unknown}")
    assert (macros[0]["status"], macros[0]["assignee"]) == ("pending", context["user"].pk)


def test_french_client_gets_french_macros(staff_client, ticket, alice):
    alice.language = "fr"
    alice.save()
    Macro.objects.create(title="Ack", body="Hello", language="en")
    Macro.objects.create(title="Accusé", body="Bonjour {client_name}", language="fr")
    Macro.objects.create(title="Any", body="—")
    macros = staff_client.get(url(ticket)).context["macros"]
    assert sorted(m["title"] for m in macros) == ["Accusé", "Any"]


def test_render_body_leaves_attribute_tricks_alone():
    assert render_body("{reference.__class__} {reference}", {"reference": "CS-1"}) == (
        "{reference.__class__} CS-1"
    )


def test_seeded_macros_exist_in_both_languages():
    from tickets.migrations import __name__ as package

    seed = __import__(f"{package}.0005_desk_seed_macros", fromlist=["seed_macros"])
    from django.apps import apps

    seed.seed_macros(apps, None)
    seed.seed_macros(apps, None)  # idempotent
    assert set(Macro.objects.values_list("language", flat=True)) == {"en", "fr"}
    assert Macro.objects.count() == len(seed.MACROS)


def test_macros_are_editable_in_the_admin(staff_client):
    response = staff_client.post(
        reverse("admin:tickets_macro_add"),
        {"title": "Need logs", "body": "Please send logs", "language": "", "position": 0},
    )
    assert response.status_code == 302
    assert Macro.objects.get().title == "Need logs"


# --- collision warning --------------------------------------------------------------------


def presence_url(ticket):
    return reverse("admin:tickets_ticket_presence", args=[ticket.pk])


def test_presence_tells_each_agent_about_the_other(client, staff_client, ticket):
    dora = StaffFactory(username="dora", first_name="Dora")
    assert staff_client.post(presence_url(ticket), {"typing": "0"}).json() == {"others": []}
    client_dora = staff_client.__class__()
    client_dora.force_login(dora)
    seen_by_dora = client_dora.post(presence_url(ticket), {"typing": "1"}).json()
    assert seen_by_dora == {"others": [{"name": "Charlie Agent", "typing": False}]}
    seen_by_charlie = staff_client.post(presence_url(ticket), {"typing": "0"}).json()
    assert seen_by_charlie == {"others": [{"name": "Dora", "typing": True}]}


def test_presence_forgets_an_agent_who_left_or_went_quiet(staff_client, ticket, charlie):
    dora = StaffFactory(username="dora")
    presence.touch(ticket.pk, dora, typing=False, now=0)
    assert presence.touch(ticket.pk, charlie, typing=False, now=presence.STALE_AFTER + 1) == []
    presence.touch(ticket.pk, dora, typing=False)
    presence.leave(ticket.pk, dora)
    assert presence.touch(ticket.pk, charlie, typing=False) == []


def test_presence_is_staff_only_and_post_only(staff_client, ticket, alice):
    assert staff_client.get(presence_url(ticket)).status_code == 405
    as_alice = staff_client.__class__()
    as_alice.force_login(alice)
    assert as_alice.post(presence_url(ticket)).status_code == 302  # to the admin login
    missing = reverse("admin:tickets_ticket_presence", args=[ticket.pk + 999])
    assert staff_client.post(missing).status_code == 404


# --- query count --------------------------------------------------------------------------


def test_ticket_page_queries_do_not_grow_with_messages(
    staff_client, ticket, charlie, django_assert_max_num_queries
):
    def write(count):
        for i in range(count):
            services.add_comment(
                ticket,
                author=charlie,
                body=f"message {i}",
                internal=bool(i % 2),
                files=[SimpleUploadedFile(f"log{i}.txt", b"x", content_type="text/plain")],
            )
            services.triage(ticket, priority="P0" if i % 2 else "P1", actor=charlie)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.get(url(ticket)).status_code == 200
        return len(ctx.captured_queries)

    Macro.objects.create(title="Ack", body="Hello {client_name}")
    write(1)
    staff_client.get(url(ticket))  # warm the session and calendar caches
    few = count()
    write(12)
    assert count() == few
    with django_assert_max_num_queries(16):
        response = staff_client.get(url(ticket))
    assert "message 11" in response.content.decode()
