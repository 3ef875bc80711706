"""End to end: deliveries recorded while no task was queued (a broker outage) are sent by a
real Celery beat and worker on Redis, retried after a 500 with the same delivery id."""

import json
import time

import pytest

from tests.factories import TicketFactory
from tests.isolation import redis_key_prefix
from tests.processes import Processes, worker_env
from webhooks import payloads, services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.testing import Receiver

DEADLINE_SECONDS = 60
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_beat_and_worker_deliver_and_retry_after_an_outage(tmp_path):
    services.invalidate_endpoints()
    with Receiver(statuses=[500]) as receiver:
        for secret in ("first-secret", "second-secret"):
            WebhookEndpoint.objects.create(
                url=receiver.url, events=["ticket.created"], secret=secret
            )
        ticket = TicketFactory()
        # What emit() writes, with the after-commit task lost (the broker was down).
        deliveries = services.record("ticket.created", ticket=ticket)
        env = worker_env(
            prefix=redis_key_prefix("webhooks"),
            WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
            WEBHOOK_REDRIVE_SECONDS=1,
            WEBHOOK_FIRST_RETRY_SECONDS=1,
        )
        with Processes(tmp_path, env) as procs:
            procs.worker()
            procs.beat()
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                if WebhookDelivery.objects.filter(status="sent").count() == 2:
                    break
                time.sleep(0.5)
        log = procs.tail()
        statuses = set(WebhookDelivery.objects.values_list("status", flat=True))
        assert statuses == {"sent"}, log
        received = receiver.received
    # One 500, then each delivery once more: three posts, the retried one with its same id.
    assert len(received) == 3, log
    ids = [r.headers["X-EService-Delivery"] for r in received]
    assert sorted(set(ids)) == sorted(str(d.pk) for d in deliveries)
    assert ids.count(ids[0]) == 2
    assert all(json.loads(r.body)["id"] == r.headers["X-EService-Delivery"] for r in received)
    secrets = {str(d.pk): d.endpoint.secret for d in deliveries}
    for r in received:
        expected = payloads.signature(secrets[r.headers["X-EService-Delivery"]], r.body)
        assert r.headers["X-EService-Signature"] == expected
