"""End to end: deliveries recorded while no task was queued (a broker outage) are sent by a
real Celery beat and worker on Redis, retried after a 500 with the same delivery id."""

import json
import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from tests.factories import TicketFactory
from tests.isolation import redis_key_prefix
from webhooks import payloads, services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.testing import Receiver

REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
DEADLINE_SECONDS = 60
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start(tmp_path, env):
    celery = [sys.executable, "-m", "celery", "-A", "portal"]
    commands = {
        "worker": [*celery, "worker", "--pool=solo", "-l", "info", "--without-mingle"],
        "beat": [*celery, "beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")],
    }
    procs = {}
    for name, command in commands.items():
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed in stop())
        procs[name] = (
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT),
            log,
        )
    return procs


def stop(procs):
    for proc, _ in procs.values():
        proc.terminate()
    for proc, log in procs.values():
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_beat_and_worker_deliver_and_retry_after_an_outage(tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("the worker needs a database it can share: PostgreSQL")
    services.invalidate_endpoints()
    with Receiver(statuses=[500]) as receiver:
        for secret in ("first-secret", "second-secret"):
            WebhookEndpoint.objects.create(
                url=receiver.url, events=["ticket.created"], secret=secret
            )
        ticket = TicketFactory()
        # What emit() writes, with the after-commit task lost (the broker was down).
        deliveries = services.record("ticket.created", ticket=ticket)
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS,
            "CELERY_BROKER_KEY_PREFIX": redis_key_prefix("webhooks"),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "ESERVICE_VAR_DIR": str(tmp_path),
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_REDRIVE_SECONDS": "1",
            "WEBHOOK_FIRST_RETRY_SECONDS": "1",
        }
        procs = start(tmp_path, env)
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                if WebhookDelivery.objects.filter(status="sent").count() == 2:
                    break
                time.sleep(0.5)
        finally:
            stop(procs)
        log = (tmp_path / "worker.log").read_text()[-3000:]
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
