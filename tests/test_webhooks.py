"""Outbound webhooks against a real local HTTP server: what emit() records, what is posted,
how it is signed, retried and logged."""

import datetime
import hashlib
import hmac
import json

import pytest
import time_machine
from django.utils import timezone

from tests.factories import CommentFactory, TicketFactory
from webhooks import sender, services
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.testing import Receiver

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"
UTC = datetime.UTC
T0 = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_READ_TIMEOUT = 0.5
    settings.WEBHOOK_TOTAL_TIMEOUT = 1.0
    services.invalidate_endpoints()
    yield
    services.invalidate_endpoints()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def endpoint(url, events=("ticket.created",), **values):
    return WebhookEndpoint.objects.create(url=url, events=list(events), secret=SECRET, **values)


def ticket_with_relations():
    ticket = TicketFactory(priority="P1")
    ticket.organization.name  # noqa: B018 (loads what the payload reads, as services do)
    return ticket


def send_all():
    return sender.deliver()


def test_emit_without_subscriber_makes_no_query(django_assert_num_queries, receiver):
    endpoint(receiver.url, events=["comment.public"])
    ticket = ticket_with_relations()
    services.subscribers("ticket.created")  # warm the cache, as any earlier write does
    with django_assert_num_queries(0):
        assert services.emit("ticket.created", ticket=ticket) == []
    assert not WebhookDelivery.objects.exists()


def test_emit_to_several_endpoints_is_one_insert(django_assert_num_queries, receiver):
    for _ in range(3):
        endpoint(receiver.url)
    endpoint(receiver.url, active=False)
    ticket = ticket_with_relations()
    services.subscribers("ticket.created")
    with django_assert_num_queries(1):
        deliveries = services.emit("ticket.created", ticket=ticket)
    assert len(deliveries) == 3
    assert WebhookDelivery.objects.filter(status="pending").count() == 3


def test_a_batch_of_events_is_one_insert(django_assert_num_queries, receiver):
    for _ in range(2):
        endpoint(receiver.url)
    tickets = [ticket_with_relations() for _ in range(5)]
    services.subscribers("ticket.created")
    with django_assert_num_queries(1):
        with services.batch():
            for ticket in tickets:
                services.emit("ticket.created", ticket=ticket)
    assert WebhookDelivery.objects.filter(status="pending").count() == 10


def test_a_new_endpoint_is_seen_at_once_in_the_process_that_saved_it(receiver):
    ticket = ticket_with_relations()
    assert services.emit("ticket.created", ticket=ticket) == []
    endpoint(receiver.url)
    assert len(services.emit("ticket.created", ticket=ticket)) == 1


def test_other_processes_reload_endpoints_after_the_ttl(receiver, settings):
    ticket = ticket_with_relations()
    services.subscribers("ticket.created")
    # Written as another process would: no signal reaches this process's cache.
    WebhookEndpoint.objects.bulk_create(
        [WebhookEndpoint(url=receiver.url, events=["ticket.created"], secret=SECRET)]
    )
    assert services.emit("ticket.created", ticket=ticket) == []
    settings.WEBHOOK_ENDPOINT_CACHE_SECONDS = 0
    assert len(services.emit("ticket.created", ticket=ticket)) == 1


def test_delivery_is_signed_over_the_raw_body_with_the_documented_headers(receiver):
    endpoint(receiver.url)
    ticket = ticket_with_relations()
    (delivery,) = services.emit("ticket.created", ticket=ticket)
    send_all()
    (got,) = receiver.wait_for(1)
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-EService-Signature"] == f"sha256={expected}"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-EService-Event"] == "ticket.created"
    assert got.headers["X-EService-Delivery"] == str(delivery.pk)
    assert got.headers["User-Agent"].startswith("eService-Webhooks/")
    body = json.loads(got.body)
    assert list(body) == ["id", "event", "created_at", "data"]
    assert body["id"] == str(delivery.pk) and body["event"] == "ticket.created"
    data = body["data"]["ticket"]
    assert data["reference"] == ticket.reference and data["subject"] == ticket.subject
    assert data["priority"] == "P1" and data["organization"] == ticket.organization_id
    for field in ("response_due_at", "response_breached", "escalation_level", "status"):
        assert field in data
    assert data["portal_url"].endswith(f"/tickets/{ticket.reference}/")
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.last_status_code == 200


def test_a_wrong_secret_does_not_verify(receiver):
    endpoint(receiver.url)
    services.emit("ticket.created", ticket=ticket_with_relations())
    send_all()
    (got,) = receiver.wait_for(1)
    forged = hmac.new(b"another-secret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-EService-Signature"] != f"sha256={forged}"


def test_a_500_is_retried_within_a_minute_with_the_same_delivery_id():
    with Receiver(statuses=[500]) as receiver:
        endpoint(receiver.url)
        with time_machine.travel(T0, tick=False):
            (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
            send_all()
            delivery.refresh_from_db()
            assert delivery.status == "pending" and delivery.last_status_code == 500
            assert delivery.next_attempt_at <= T0 + datetime.timedelta(minutes=1)
            assert send_all() == 0  # not due yet
        with time_machine.travel(delivery.next_attempt_at, tick=False):
            assert sender.redrive() == 1
        first, second = receiver.wait_for(2)
    assert first.headers["X-EService-Delivery"] == second.headers["X-EService-Delivery"]
    assert first.body == second.body
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 2
    codes = list(delivery.attempt_log.order_by("at").values_list("status_code", flat=True))
    assert codes == [500, 200]


def test_a_time_out_is_logged_and_retried(settings):
    settings.WEBHOOK_READ_TIMEOUT = 0.2
    with Receiver(delay=1.0) as receiver:
        endpoint(receiver.url)
        (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
        send_all()
        receiver.wait_for(1)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and attempt.error == "time-out"
    assert attempt.latency_ms < 1000


def test_retries_last_a_day_then_the_delivery_fails_and_the_endpoint_is_failing():
    with Receiver(default=503) as receiver:
        hook = endpoint(receiver.url)
        with time_machine.travel(T0, tick=False):
            (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
        at = T0
        while True:
            with time_machine.travel(at, tick=False):
                send_all()
            delivery.refresh_from_db()
            if delivery.status != "pending":
                break
            at = delivery.next_attempt_at
    assert delivery.status == DeliveryStatus.FAILED
    last = delivery.attempt_log.order_by("-at").first().at
    assert last - T0 >= datetime.timedelta(hours=24)
    assert 10 <= delivery.attempts <= 20
    hook.refresh_from_db()
    assert hook.failing_since is not None and hook.state == "failing"


def test_a_success_clears_the_failing_state(receiver):
    hook = endpoint(receiver.url, failing_since=timezone.now())
    services.emit("ticket.created", ticket=ticket_with_relations())
    send_all()
    hook.refresh_from_db()
    assert hook.failing_since is None and hook.state == "healthy"


def test_slack_format_posts_one_escaped_line(receiver):
    endpoint(receiver.url, format="slack")
    ticket = TicketFactory(subject="Heatmap <b>broken</b> & blank", priority="P0")
    services.emit("ticket.created", ticket=ticket)
    send_all()
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert list(body) == ["text"]
    text = body["text"]
    assert "\n" not in text
    assert "Heatmap &lt;b&gt;broken&lt;/b&gt; &amp; blank" in text
    assert f"|{ticket.reference}>" in text and "/tickets/" in text and "P0" in text
    assert got.headers["X-EService-Signature"].startswith("sha256=")


def test_a_public_comment_is_sent_and_an_internal_note_is_refused(receiver):
    endpoint(receiver.url, events=["comment.public"])
    ticket = ticket_with_relations()
    note = CommentFactory(ticket=ticket, body="internal: refund them", internal=True)
    with pytest.raises(ValueError, match="internal"):
        services.emit("comment.public", ticket=ticket, comment=note)
    assert not WebhookDelivery.objects.exists()
    reply = CommentFactory(ticket=ticket, body="We are on it.")
    services.emit("comment.public", ticket=ticket, comment=reply)
    send_all()
    (got,) = receiver.wait_for(1)
    assert b"refund them" not in got.body
    assert json.loads(got.body)["data"]["comment"]["body"] == "We are on it."


def test_changes_travel_as_old_and_new(receiver):
    endpoint(receiver.url, events=["ticket.updated"])
    ticket = ticket_with_relations()
    services.emit("ticket.updated", ticket=ticket, changes={"priority": ("P2", "P1")})
    send_all()
    (got,) = receiver.wait_for(1)
    assert json.loads(got.body)["data"]["changes"] == {"priority": {"old": "P2", "new": "P1"}}


def test_an_unknown_event_is_refused():
    with pytest.raises(ValueError):
        services.emit("ticket.deleted")


def test_delivery_time_check_refuses_an_address_that_became_private(receiver, settings):
    endpoint(receiver.url)
    services.emit("ticket.created", ticket=ticket_with_relations())
    settings.WEBHOOK_ALLOWED_HOSTS = []  # as if the name now resolved somewhere internal
    send_all()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_error.startswith("refused:")
    assert receiver.count == 0


def test_a_deactivated_or_deleted_endpoint_is_not_called(receiver):
    hook = endpoint(receiver.url)
    gone = endpoint(receiver.url)
    services.emit("ticket.created", ticket=ticket_with_relations())
    WebhookEndpoint.objects.filter(pk=hook.pk).update(active=False)
    # Deleted by another process while this one's cache still named it.
    WebhookEndpoint.objects.filter(pk=gone.pk)._raw_delete(WebhookEndpoint.objects.db)
    send_all()
    errors = set(WebhookDelivery.objects.values_list("status", "last_error"))
    assert errors == {("failed", "endpoint inactive"), ("failed", "endpoint deleted")}
    assert receiver.count == 0


def test_a_claimed_delivery_is_not_claimed_again(receiver):
    endpoint(receiver.url)
    services.emit("ticket.created", ticket=ticket_with_relations())
    assert len(sender.claim()) == 1
    assert sender.claim() == []  # leased: a second worker finds nothing


def test_staff_retry_requeues_a_failed_delivery(receiver):
    endpoint(receiver.url)
    (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    assert services.retry(WebhookDelivery.objects.all()) == 1
    send_all()
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert receiver.wait_for(1)[0].headers["X-EService-Delivery"] == str(delivery.pk)


def test_sending_is_queued_once_after_commit_and_the_task_sends(
    receiver, django_capture_on_commit_callbacks
):
    from webhooks import tasks

    endpoint(receiver.url)
    endpoint(receiver.url)
    ticket = ticket_with_relations()
    with django_capture_on_commit_callbacks() as callbacks:
        deliveries = services.emit("ticket.created", ticket=ticket)
    assert len(callbacks) == 1  # one task per event, not per endpoint
    assert tasks.deliver([str(d.pk) for d in deliveries]) == 2
    assert len(receiver.wait_for(2)) == 2
    assert tasks.deliver([str(d.pk) for d in deliveries]) == 0  # a second run sends nothing
    assert receiver.count == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_send_a_delivery_twice(receiver, settings):
    import threading

    # A loaded machine must not turn a slow answer into a retry: this test is about claims.
    settings.WEBHOOK_READ_TIMEOUT = settings.WEBHOOK_TOTAL_TIMEOUT = 30.0

    from django.db import connection

    for _ in range(4):
        endpoint(receiver.url)
    for _ in range(10):
        # Recorded without queueing a task: this test is the only sender.
        services.record("ticket.created", ticket=ticket_with_relations())
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            sender.deliver(limit=40)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [r.headers["X-EService-Delivery"] for r in receiver.wait_for(40)]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert WebhookDelivery.objects.filter(status="sent", attempts=1).count() == 40


def test_a_lease_outlasts_a_batch_of_time_outs(settings):
    settings.WEBHOOK_TOTAL_TIMEOUT = 8.0
    settings.WEBHOOK_CONCURRENCY = 8
    assert sender.lease(64) > datetime.timedelta(seconds=8 * 8)
    assert sender.lease(1) > datetime.timedelta(seconds=8)


def test_a_credit_claim_carries_the_credit_and_its_ticket(receiver):
    from sla.availability.models import ServiceCredit

    endpoint(receiver.url, events=["credit.claimed"])
    endpoint(receiver.url, events=["credit.claimed"], format="slack")
    ticket = ticket_with_relations()
    now = timezone.now()
    credit = ServiceCredit.objects.create(
        organization=ticket.organization,
        kind="resolution",
        ticket=ticket,
        days=2,
        status="claimed",
        breach_at=now,
        claim_deadline=now + datetime.timedelta(days=30),
    )
    services.emit("credit.claimed", ticket=ticket, credit=credit)
    send_all()
    bodies = [json.loads(r.body) for r in receiver.wait_for(2)]
    (signed,) = [b for b in bodies if "data" in b]
    assert signed["data"]["credit"]["days"] == 2
    assert signed["data"]["credit"]["ticket"] == ticket.reference
    assert signed["data"]["credit"]["status"] == "claimed"
    (slack,) = [b for b in bodies if "text" in b]
    assert slack["text"].startswith("credit.claimed: <") and ticket.reference in slack["text"]


def test_settled_deliveries_are_pruned_after_the_retention_period(receiver):
    endpoint(receiver.url)
    with time_machine.travel(T0, tick=False):
        services.record("ticket.created", ticket=ticket_with_relations())
        services.record("ticket.created", ticket=ticket_with_relations())
        send_all()
        receiver.wait_for(2)
        services.record("ticket.created", ticket=ticket_with_relations())  # still owed
    assert WebhookAttempt.objects.count() == 2
    assert sender.prune(days=30, now=T0 + datetime.timedelta(days=29)) == 0
    sender.prune(days=30, now=T0 + datetime.timedelta(days=31))
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["pending"]
    assert not WebhookAttempt.objects.exists()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for the name "localhost" (openssl, as an operator would)."""
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_connects_to_the_checked_address_and_verifies_the_host_name(certificate, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    settings.WEBHOOK_CA_CERTS = certificate[0]
    with Receiver(tls=certificate, host="localhost") as receiver:
        endpoint(receiver.url)
        (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
        send_all()
        (got,) = receiver.wait_for(1)
    assert got.headers["Host"] == f"localhost:{receiver.server.server_address[1]}"
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_https_refuses_a_certificate_it_cannot_verify(certificate, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]
    settings.WEBHOOK_CA_CERTS = ""  # the system's CAs do not know this self-signed one
    with Receiver(tls=certificate, host="localhost") as receiver:
        endpoint(receiver.url)
        (delivery,) = services.emit("ticket.created", ticket=ticket_with_relations())
        send_all()
    delivery.refresh_from_db()
    assert delivery.status == "pending" and "SSL" in delivery.last_error
    assert receiver.count == 0
