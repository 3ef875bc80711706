"""Past one machine: two web processes, two Celery workers and two beats share one PostgreSQL,
one Redis and one object store. Sweeps, mails and webhooks happen exactly once; a file
uploaded through one web process is served by the other; one beat holds the lock and a
standby takes over when the holder dies."""

import json
import os
import signal
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest
import redis
import requests

from accounts import tokens
from escalation.models import EscalationEvent
from notifications.models import Notification, Status
from tests.isolation import redis_key_prefix
from tests.processes import REDIS, Processes, database_url
from tests.s3_server import CREDENTIALS, S3Server
from tests.smtp_sink import SmtpSink
from tests.test_escalation_sweep import open_p1
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.testing import Receiver

DEADLINE = 120
LOCK_TIMEOUT = 6
PREFIX = redis_key_prefix("multihost")
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_until(check, timeout=DEADLINE, every=0.5):
    """Poll `check` until it returns something true or the deadline passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health/", timeout=5).status_code in (200, 503)
    except requests.RequestException:
        return False


def cluster_env(s3, sink, receiver) -> dict:
    return {
        **os.environ,
        **CREDENTIALS,
        # The production settings: Redis cache and sessions, redbeat, the bucket.
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS,
        "CELERY_BROKER_URL": REDIS,
        "CELERY_BROKER_KEY_PREFIX": PREFIX,
        "CACHE_KEY_PREFIX": PREFIX + "cache",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "MEDIA_STORAGE_URL": s3.media_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WEBHOOK_REDRIVE_SECONDS": "2",
        "WEBHOOK_ENDPOINT_CACHE_SECONDS": "0",
        "NOTIFICATIONS_REDRIVE_SECONDS": "2",
        "ESCALATION_SWEEP_SECONDS": "2",
        "BEAT_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT),
    }


def forget_keys() -> None:
    """This run's queues, cache, sessions and schedule leave the shared Redis."""
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(match=f"{PREFIX}*", count=500):
        client.delete(key)


def holders(cluster) -> list[str]:
    return [name for name in ("beat1", "beat2") if "Acquired lock" in cluster.log(name)]


def file_a_ticket(web: str, token: str) -> dict:
    response = requests.post(
        f"{web}/api/v1/tickets/",
        headers={"Authorization": f"Token {token}"},
        data={"subject": "Player freezes", "description": "On every replay."},
        files={"attachments": ("trace.har", b'{"log": {"pages": []}}', "application/json")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_two_of_everything_do_each_thing_once(alice, bob, tmp_path):
    overdue = open_p1(alice)  # received in March 2026: three levels overdue
    alice_token, bob_token = tokens.issue(alice), tokens.issue(bob)
    with S3Server(tmp_path) as s3, SmtpSink() as sink, Receiver() as receiver:
        endpoint = WebhookEndpoint.objects.create(
            url=receiver.url, events=["ticket.created", "ticket.escalated"], secret="s"
        )
        env = cluster_env(s3, sink, receiver)
        cluster = Processes(tmp_path, env)
        try:
            webs = [cluster.web("web1"), cluster.web("web2")]
            for name in ("worker1", "worker2"):
                cluster.celery(name, "worker", "--pool=threads", "-c", "2", "-n", f"{name}@%h")
            for name in ("beat1", "beat2"):
                cluster.celery(name, "beat")
            assert wait_until(lambda: all(map(answers, webs))), cluster.tails()

            # A file uploaded through one web process is served by the other, to its
            # organization only.
            created = file_a_ticket(webs[0], alice_token)
            [attachment] = created["attachments"]
            path = urlsplit(attachment["download_url"]).path
            download = requests.get(
                f"{webs[1]}{path}",
                headers={"Authorization": f"Token {alice_token}"},
                timeout=30,
            )
            assert download.status_code == 200, cluster.tails()
            assert download.content == b'{"log": {"pages": []}}'
            other = requests.get(
                f"{webs[1]}{path}",
                headers={"Authorization": f"Token {bob_token}"},
                timeout=30,
            )
            assert other.status_code == 404
            assert len(s3.objects()) == 1

            # The sweep escalates the overdue ticket once per level, whichever worker runs it.
            notified = EscalationEvent.objects.filter(ticket=overdue, notified_at__isnull=False)
            assert wait_until(lambda: notified.count() >= 3), cluster.tails()
            assert wait_until(
                lambda: (
                    not Notification.objects.exclude(status=Status.SENT).exists()
                    and len(sink.messages) >= Notification.objects.count()
                )
            ), cluster.tails()
            assert wait_until(
                lambda: (
                    not WebhookDelivery.objects.exclude(status="sent").exists()
                    and len(receiver.received) >= WebhookDelivery.objects.count() >= 4
                )
            ), cluster.tails()
            time.sleep(6)  # several more sweeps and re-drives: room for a duplicate to show

            levels = list(overdue.escalations.values_list("level", flat=True))
            assert sorted(levels) == [1, 2, 3], cluster.tails()
            mails = Counter(m["Message-ID"] for _, m in sink.messages)
            assert set(mails.values()) == {1}, mails
            sent = set(Notification.objects.values_list("message_id", flat=True))
            assert set(mails) == sent
            posts = Counter(r.headers["X-EService-Delivery"] for r in receiver.received)
            assert set(posts.values()) == {1}, posts
            assert set(posts) == {
                str(pk) for pk in endpoint.deliveries.values_list("pk", flat=True)
            }
            events = Counter(json.loads(r.body)["event"] for r in receiver.received)
            assert events["ticket.created"] == 1, events

            # One beat holds the lock; its schedule kept the options set in code.
            [holder] = holders(cluster)
            client = redis.Redis.from_url(REDIS)
            sweep = json.loads(client.hget(f"{PREFIX}redbeat:sla-sweep", "definition"))
            assert sweep["options"]["expires"] == 1

            # The holder dies without releasing its lock: the standby takes over once it expires.
            cluster.procs[holder].send_signal(signal.SIGKILL)
            assert wait_until(lambda: len(holders(cluster)) == 2, timeout=LOCK_TIMEOUT * 10), (
                cluster.tails()
            )
        finally:
            cluster.stop()
            forget_keys()
