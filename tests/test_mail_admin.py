"""Staff see failed and quarantined mail in the admin, retry or discard it, download the raw."""

import pytest
from django.urls import reverse

from tests.factories import SuperuserFactory
from tests.mail import eml, ingest
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:mail_inboundmessage_changelist"


@pytest.fixture
def staff_client(client):
    client.force_login(SuperuserFactory(username="root"))
    return client


@pytest.fixture
def failed(alice, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("storage offline")

    monkeypatch.setattr("tickets.mail.pipeline.services.open_ticket", boom)
    message = ingest(eml("plain_new.eml"))
    monkeypatch.undo()
    assert message.status == InboundStatus.FAILED
    return message


def test_the_list_title_counts_what_needs_staff(staff_client, failed, org):
    ingest(eml("unknown_sender.eml"))
    response = staff_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert "2 failed, quarantined or held need attention" in response.content.decode()
    filtered = staff_client.get(reverse(CHANGELIST), {"status__exact": "failed"})
    assert list(filtered.context["cl"].queryset) == [failed]


def test_retry_processes_a_failed_message_once(staff_client, failed):
    data = {"action": "retry", "_selected_action": [failed.pk]}
    staff_client.post(reverse(CHANGELIST), data)
    staff_client.post(reverse(CHANGELIST), data)
    failed.refresh_from_db()
    assert failed.status == InboundStatus.DONE and failed.error == ""
    assert Ticket.objects.count() == 1


def test_discard_keeps_the_message_but_never_processes_it(staff_client, failed):
    staff_client.post(reverse(CHANGELIST), {"action": "discard", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == InboundStatus.DISCARDED and bytes(failed.raw)
    from tickets.mail.pipeline import process

    assert process(failed.pk).status == InboundStatus.DISCARDED
    assert Ticket.objects.count() == 0


def test_raw_download_and_detail_page(staff_client, failed):
    raw = staff_client.get(reverse("admin:mail_inboundmessage_raw", args=[failed.pk]))
    assert raw.status_code == 200 and raw["Content-Type"] == "message/rfc822"
    assert b"".join(raw.streaming_content if raw.streaming else [raw.content]) == eml(
        "plain_new.eml"
    )
    detail = staff_client.get(reverse("admin:mail_inboundmessage_change", args=[failed.pk]))
    assert detail.status_code == 200 and "RuntimeError: storage offline" in detail.content.decode()


def test_clients_cannot_reach_the_inbound_admin(client, alice, failed):
    client.force_login(alice)
    response = client.get(reverse("admin:mail_inboundmessage_raw", args=[failed.pk]))
    assert response.status_code == 302
    assert InboundMessage.objects.count() == 1
