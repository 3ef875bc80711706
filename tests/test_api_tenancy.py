"""Tenancy matrix: alice (Acme client), bob (Globex client), charlie (staff) against Acme's data.

Another organization's ticket, comments and files are a 404, never a 403 that confirms they
exist; the check happens before any role check or input validation.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api_fixtures import api_for, api_test_settings, open_ticket, references  # noqa: F401
from tickets import services
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(alice, charlie):
    """An Acme ticket with a public reply, an internal note, and a file on each."""
    ticket = open_ticket(alice, files=[SimpleUploadedFile("shot.png", b"\x89PNG")])
    public = services.add_comment(
        ticket, author=charlie, body="Public reply", files=[SimpleUploadedFile("fix.txt", b"ok")]
    )
    note = services.add_comment(
        ticket,
        author=charlie,
        body="Internal only",
        internal=True,
        files=[SimpleUploadedFile("secret.txt", b"s")],
    )
    return {"ticket": ticket, "public": public, "note": note}


def url(ticket, action=""):
    return f"/api/v1/tickets/{ticket.reference}/" + (f"{action}/" if action else "")


# -- who sees the ticket ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "visible"), [("alice", True), ("bob", False), ("charlie", True)]
)
def test_ticket_list_shows_a_ticket_only_within_its_organization(request, acme, persona, visible):
    response = api_for(request.getfixturevalue(persona)).get("/api/v1/tickets/")
    assert response.status_code == 200
    assert (acme["ticket"].reference in references(response)) is visible


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("charlie", 200)])
def test_ticket_detail(request, acme, persona, status):
    response = api_for(request.getfixturevalue(persona)).get(url(acme["ticket"]))
    assert response.status_code == status


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("charlie", 200)])
def test_comment_list(request, acme, persona, status):
    response = api_for(request.getfixturevalue(persona)).get(url(acme["ticket"], "comments"))
    assert response.status_code == status
    assert "Public reply" in response.content.decode() or status == 404


@pytest.mark.parametrize(("persona", "status"), [("alice", 201), ("bob", 404), ("charlie", 201)])
def test_comment_create(request, acme, persona, status):
    client = api_for(request.getfixturevalue(persona))
    response = client.post(url(acme["ticket"], "comments"), {"body": "hello"})
    assert response.status_code == status
    assert Comment.objects.filter(body="hello").exists() is (status == 201)


@pytest.mark.parametrize(("persona", "status"), [("alice", 403), ("bob", 404), ("charlie", 200)])
@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("triage", {"priority": "P1"}),
        ("start", {}),
        ("resolve", {}),
        ("assign", {"assignee": None}),
        ("exclude", {"excluded": False}),
    ],
)
def test_staff_actions(request, acme, persona, status, action, data):
    response = api_for(request.getfixturevalue(persona)).post(url(acme["ticket"], action), data)
    assert response.status_code == status


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_tenancy_is_checked_before_input(request, acme, persona):
    """Bad input on another org's ticket still says 404: the body reveals nothing."""
    client = api_for(request.getfixturevalue(persona))
    response = client.post(url(acme["ticket"], "triage"), {"priority": "P9"})
    assert response.status_code == {"alice": 403, "bob": 404}[persona]


def test_reopen_other_org_is_404(bob, charlie, acme):
    services.resolve(acme["ticket"], actor=charlie)
    assert api_for(bob).post(url(acme["ticket"], "reopen"), {}).status_code == 404
    assert Ticket.objects.get().status == "resolved"


# -- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "file", "status"),
    [
        ("alice", "ticket", 200),
        ("alice", "public", 200),
        ("alice", "note", 404),
        ("bob", "ticket", 404),
        ("bob", "public", 404),
        ("bob", "note", 404),
        ("charlie", "ticket", 200),
        ("charlie", "public", 200),
        ("charlie", "note", 200),
    ],
)
def test_attachment_download(request, acme, persona, file, status):
    ticket = acme["ticket"]
    attachment = {
        "ticket": ticket.attachments.get(comment=None),
        "public": acme["public"].attachments.get(),
        "note": acme["note"].attachments.get(),
    }[file]
    client = api_for(request.getfixturevalue(persona))
    assert client.get(f"/api/v1/attachments/{attachment.pk}/download/").status_code == status
    assert client.get(f"/api/v1/attachments/{attachment.pk}/").status_code == status


# -- internal notes never reach a client ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/tickets/", "{ticket}", "{ticket}comments/", "/api/v1/tickets/?search=Internal"],
)
def test_internal_note_text_and_files_never_reach_the_client(alice, acme, path):
    response = api_for(alice).get(path.format(ticket=url(acme["ticket"])))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Internal only" not in text
    assert "secret.txt" not in text


def test_staff_sees_the_internal_note(charlie, acme):
    text = api_for(charlie).get(url(acme["ticket"], "comments")).content.decode()
    assert "Internal only" in text
    assert "secret.txt" in text


def test_client_without_organization_sees_no_tickets(acme):
    from tests.factories import UserFactory

    orphan = UserFactory(username="orphan")
    assert references(api_for(orphan).get("/api/v1/tickets/")) == set()
    assert api_for(orphan).get(url(acme["ticket"])).status_code == 404


# -- routes other apps mount under /api/v1/ keep the same guard -----------------------------------


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("bob", 404), ("charlie", 200)])
def test_escalation_list_is_mounted_and_guarded(request, acme, persona, status):
    response = api_for(request.getfixturevalue(persona)).get(url(acme["ticket"], "escalations"))
    assert response.status_code == status
