"""The "New anomaly" form: what it records, what it refuses, who may use it."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import UserFactory
from tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db

CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
NOW = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def anomaly(**overrides):
    data = {
        "subject": "Heatmaps are blank",
        "feature": "heatmaps",
        "priority": "P1",
        "description": "Since this morning the heatmap of /checkout is empty.",
    }
    data.update(overrides)
    return data


def test_filing_creates_a_web_ticket_with_user_agent_suggested_priority_and_attachment(
    alice_client, alice
):
    content = b"\x89PNG not really an image"
    screenshot = SimpleUploadedFile("blank.png", content, content_type="image/png")
    with time_machine.travel(NOW, tick=False):
        response = alice_client.post(
            "/tickets/new/", anomaly(attachments=[screenshot]), HTTP_USER_AGENT=CHROME_UA
        )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/tickets/{ticket.reference}/"
    assert (ticket.organization, ticket.reporter) == (alice.organization, alice)
    assert (ticket.channel, ticket.user_agent) == ("web", CHROME_UA)
    assert (ticket.suggested_priority, ticket.priority, ticket.feature) == ("P1", "P1", "heatmaps")
    assert ticket.received_at == NOW
    attachment = ticket.attachments.get()
    assert (attachment.filename, attachment.size, attachment.internal) == (
        "blank.png",
        len(content),
        False,
    )
    assert attachment.file.read() == content


def test_after_filing_the_detail_page_gives_the_reference(alice_client):
    response = alice_client.post("/tickets/new/", anomaly(), follow=True)
    ticket = Ticket.objects.get()
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any(ticket.reference in m for m in messages)


def test_several_files_can_be_attached_at_once(alice_client):
    files = [
        SimpleUploadedFile("one.txt", b"first"),
        SimpleUploadedFile("two.log", b"second"),
    ]
    alice_client.post("/tickets/new/", anomaly(attachments=files))
    names = sorted(Attachment.objects.values_list("filename", flat=True))
    assert names == ["one.txt", "two.log"]


def test_a_forbidden_file_type_is_a_form_error_and_creates_nothing(alice_client):
    script = SimpleUploadedFile("evil.exe", b"MZ...")
    response = alice_client.post("/tickets/new/", anomaly(attachments=[script]))
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert "evil.exe" in response.content.decode()
    assert not Ticket.objects.exists()
    assert not Attachment.objects.exists()


def test_an_oversized_file_is_a_form_error_and_creates_nothing(alice_client, settings):
    settings.ATTACHMENT_MAX_BYTES = 100
    big = SimpleUploadedFile("dump.txt", b"x" * 101)
    response = alice_client.post("/tickets/new/", anomaly(attachments=[big]))
    assert response.status_code == 200
    assert "attachments" in response.context["form"].errors
    assert not Ticket.objects.exists()


def test_missing_subject_and_unknown_priority_are_form_errors(alice_client):
    response = alice_client.post("/tickets/new/", anomaly(subject="", priority="P9"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"subject", "priority"}
    assert not Ticket.objects.exists()


def test_form_shows_the_contract_definition_beside_each_priority(alice_client):
    html = alice_client.get("/tickets/new/", HTTP_USER_AGENT=CHROME_UA).content.decode()
    for value in ("P0", "P1", "P2", "P3"):
        assert f'value="{value}"' in html
    assert "totally unusable" in html
    assert "feature requests" in html


def test_a_browser_other_than_chrome_gets_a_gentle_note(alice_client):
    chrome = alice_client.get("/tickets/new/", HTTP_USER_AGENT=CHROME_UA)
    firefox = alice_client.get("/tickets/new/", HTTP_USER_AGENT=FIREFOX_UA)
    assert chrome.context["browser_supported"] is True
    assert firefox.context["browser_supported"] is False
    assert "current version of Google Chrome" in firefox.content.decode()
    assert "current version of Google Chrome" not in chrome.content.decode()


def test_edge_is_not_mistaken_for_chrome(alice_client):
    edge = CHROME_UA + " Edg/131.0.0.0"
    assert (
        alice_client.get("/tickets/new/", HTTP_USER_AGENT=edge).context["browser_supported"]
        is False
    )


def test_a_client_without_organization_gets_a_clear_message_not_an_error(client):
    orphan = UserFactory(username="orphan")
    client.force_login(orphan)
    page = client.get("/tickets/new/")
    post = client.post("/tickets/new/", anomaly())
    assert page.status_code == post.status_code == 403
    assert "not linked to an organization" in page.content.decode()
    assert not Ticket.objects.exists()


def test_staff_filing_from_the_portal_must_choose_the_organization(client, charlie, org):
    client.force_login(charlie)
    missing = client.post("/tickets/new/", anomaly())
    assert "organization" in missing.context["form"].errors
    client.post("/tickets/new/", anomaly(organization=org.pk))
    ticket = Ticket.objects.get()
    assert (ticket.organization, ticket.reporter) == (org, charlie)


def test_client_form_has_no_organization_choice(alice_client, other_org):
    html = alice_client.get("/tickets/new/").content.decode()
    assert 'name="organization"' not in html
    alice_client.post("/tickets/new/", anomaly(organization=other_org.pk))
    assert Ticket.objects.get().organization.name == "Acme"
