"""/api/v1/webhooks/ and the admin screens: staff only, write-only secret, the SSRF guard."""

import socket

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.api_fixtures import api_for, api_test_settings  # noqa: F401 (autouse fixture)
from tests.factories import TicketFactory
from webhooks import guard, services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"
PUBLIC_URL = "https://93.184.215.14/hooks/eservice"  # a literal public address: no DNS needed


@pytest.fixture(autouse=True)
def _no_allowed_hosts(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    services.invalidate_endpoints()
    yield
    services.invalidate_endpoints()


def body(**values):
    return {"url": PUBLIC_URL, "events": ["ticket.created"], "secret": "top-secret", **values}


def test_staff_register_an_endpoint_and_never_read_its_secret(charlie):
    api = api_for(charlie)
    response = api.post(URL, body(events=["ticket.resolved", "ticket.created"]), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert "secret" not in data
    assert data["events"] == ["ticket.created", "ticket.resolved"]
    assert data["format"] == "json" and data["state"] == "healthy"
    assert data["created_by"] == "charlie"
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert endpoint.secret == "top-secret"
    for response in (api.get(URL), api.get(f"{URL}{endpoint.pk}/")):
        assert response.status_code == 200
        assert "top-secret" not in response.content.decode()


def test_staff_patch_and_delete(charlie):
    api = api_for(charlie)
    pk = api.post(URL, body(), format="json").json()["id"]
    response = api.patch(f"{URL}{pk}/", {"format": "slack", "active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["format"] == "slack" and response.json()["state"] == "inactive"
    assert api.patch(f"{URL}{pk}/", {"secret": "rotated"}, format="json").status_code == 200
    assert WebhookEndpoint.objects.get(pk=pk).secret == "rotated"
    assert api.delete(f"{URL}{pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_an_api_change_reaches_emit_at_once(charlie):
    ticket = TicketFactory()
    assert services.emit("ticket.created", ticket=ticket) == []
    api_for(charlie).post(URL, body(), format="json")
    assert len(services.emit("ticket.created", ticket=ticket)) == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"events": []}, "events"),
        ({"events": ["ticket.deleted"]}, "events"),
        ({"events": "ticket.created"}, "events"),
        ({"secret": ""}, "secret"),
        ({"url": "ftp://93.184.215.14/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(charlie, values, field):
    response = api_for(charlie).post(URL, body(**values), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_missing_secret_is_a_400(charlie):
    values = body()
    del values["secret"]
    response = api_for(charlie).post(URL, values, format="json")
    assert response.status_code == 400 and "secret" in response.json()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_internal_addresses_are_refused(charlie, url):
    response = api_for(charlie).post(URL, body(url=url), format="json")
    assert response.status_code == 400
    assert "url" in response.json()
    assert not WebhookEndpoint.objects.exists()


def test_a_patch_to_an_internal_address_is_refused(charlie):
    api = api_for(charlie)
    pk = api.post(URL, body(), format="json").json()["id"]
    response = api.patch(f"{URL}{pk}/", {"url": "http://127.0.0.1/x"}, format="json")
    assert response.status_code == 400 and "url" in response.json()


def test_a_host_named_in_the_setting_is_allowed(charlie, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    response = api_for(charlie).post(URL, body(url="http://127.0.0.1:8000/h"), format="json")
    assert response.status_code == 201
    # Only the host named: another loopback name stays refused.
    response = api_for(charlie).post(URL, body(url="http://localhost:8000/h"), format="json")
    assert response.status_code == 400


def test_a_name_is_judged_by_every_address_it_resolves_to(monkeypatch):
    def fake(host, port, type=0):  # noqa: A002 (socket.getaddrinfo's name)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(guard.socket, "getaddrinfo", fake)
    with pytest.raises(guard.Refused):
        guard.check_url("https://hooks.example.com/x")


def test_a_name_that_does_not_resolve_is_refused(charlie):
    response = api_for(charlie).post(URL, body(url="https://no-such-host.invalid/x"))
    assert response.status_code == 400 and "url" in response.json()


def test_the_target_keeps_the_host_for_the_request(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    target = guard.resolve("http://localhost:8080/a/b?c=1")
    assert target.address in ("127.0.0.1", "::1")
    assert target.host_header == "localhost:8080" and target.path == "/a/b?c=1"


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_client_can_neither_list_nor_create(alice, method):
    response = getattr(api_for(alice), method)(URL, body(), format="json")
    assert response.status_code == 403


def test_a_client_cannot_read_change_or_delete_an_endpoint(alice):
    endpoint = WebhookEndpoint.objects.create(url=PUBLIC_URL, events=["ticket.created"])
    api = api_for(alice)
    for method in ("get", "patch", "delete"):
        assert getattr(api, method)(f"{URL}{endpoint.pk}/").status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_anonymous_is_refused():
    assert api_for().get(URL).status_code in (401, 403)


def test_the_list_has_a_constant_query_count(charlie, django_assert_max_num_queries):
    for _ in range(5):
        WebhookEndpoint.objects.create(
            url=PUBLIC_URL, events=["ticket.created"], created_by=charlie
        )
    api = api_for(charlie)
    with django_assert_max_num_queries(4):
        assert len(api.get(URL).json()["results"]) == 5


# -- admin -----------------------------------------------------------------------------


def delivery_with_attempts():
    endpoint = WebhookEndpoint.objects.create(
        url=PUBLIC_URL, events=["ticket.created"], secret="x", failing_since=timezone.now()
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event="ticket.created",
        payload={"event": "ticket.created", "created_at": None, "data": {}},
        status="failed",
        attempts=2,
        last_status_code=502,
        last_error="HTTP 502",
        created_at=timezone.now(),
    )
    for code in (500, 502):
        WebhookAttempt.objects.create(
            delivery=delivery, at=timezone.now(), status_code=code, latency_ms=42
        )
    return delivery


@pytest.mark.parametrize(
    "name",
    [
        "admin:webhooks_webhookendpoint_changelist",
        "admin:webhooks_webhookendpoint_add",
        "admin:webhooks_webhookdelivery_changelist",
        "admin:webhooks_webhookattempt_changelist",
    ],
)
def test_an_agent_opens_every_webhook_screen(client, charlie, name):
    delivery_with_attempts()
    client.force_login(charlie)
    assert client.get(reverse(name)).status_code == 200


def test_the_admin_shows_state_errors_and_latency(client, charlie):
    delivery = delivery_with_attempts()
    client.force_login(charlie)
    endpoints = client.get(reverse("admin:webhooks_webhookendpoint_changelist")).content.decode()
    assert "Failing" in endpoints
    deliveries = client.get(reverse("admin:webhooks_webhookdelivery_changelist")).content
    assert b"HTTP 502" in deliveries
    page = client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200 and b"42" in page.content and b"502" in page.content
    change = client.get(
        reverse("admin:webhooks_webhookendpoint_change", args=[delivery.endpoint_id])
    )
    assert change.status_code == 200 and b'value="x"' not in change.content
    assert "Failing" in change.content.decode()


def test_the_retry_action_requeues(client, charlie, django_capture_on_commit_callbacks):
    delivery = delivery_with_attempts()
    client.force_login(charlie)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "retry_now", "_selected_action": [str(delivery.pk)]},
        )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
    assert len(callbacks) == 1


def test_the_admin_form_refuses_an_internal_url_and_keeps_the_secret(client, charlie):
    client.force_login(charlie)
    add = reverse("admin:webhooks_webhookendpoint_add")
    form = {"url": "http://127.0.0.1/x", "events": ["ticket.created"], "secret": "k"}
    form.update(format="json", active="on")
    response = client.post(add, form)
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    response = client.post(add, {**form, "url": PUBLIC_URL})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == charlie and endpoint.secret == "k"
    change = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    response = client.post(change, {**form, "url": PUBLIC_URL, "secret": "", "format": "slack"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret == "k" and endpoint.format == "slack"


def test_the_admin_index_lists_webhooks_for_an_agent(client, charlie):
    client.force_login(charlie)
    assert "Webhooks" in client.get("/admin/").content.decode()


def test_a_client_cannot_open_the_webhook_screens(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:webhooks_webhookendpoint_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_read_an_endpoints_deliveries(charlie, alice, django_assert_max_num_queries):
    delivery = delivery_with_attempts()
    url = f"{URL}{delivery.endpoint_id}/deliveries/"
    api = api_for(charlie)
    with django_assert_max_num_queries(5):
        response = api.get(url)
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["id"] == str(delivery.pk) and row["status"] == "failed"
    assert row["last_status_code"] == 502 and row["last_error"] == "HTTP 502"
    assert "payload" not in row
    assert api_for(alice).get(url).status_code == 403
