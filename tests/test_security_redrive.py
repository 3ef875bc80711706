"""Issue 10 finding 4: the store is the queue of record. Messages left "stored" by a lost
task are re-driven by beat, once each; the admin shows stuck ones; /health/ reports a backlog.
Includes a private Redis stopped while mail arrives over LMTP, then restarted."""

import datetime
import os
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.urls import reverse
from django.utils import timezone

from tests.factories import StaffFactory
from tests.mail import eml
from tests.test_mail_transports import database_url, free_port, wait_for_port
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.mail.redrive import backlog_status, redrive
from tickets.mail.store import store
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def _message(n: int) -> bytes:
    return eml(
        "plain_new.eml",
        **{"<CAF1x2plain@": f"<stranded-{n}@", "Heatmap not loading": f"Heatmap {n} blank"},
    )


def _stored(count: int, minutes_ago: float) -> list[int]:
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return [
        store(_message(n), None, ["premier@eservice.example"], received_at=at)[0].pk
        for n in range(count)
    ]


def test_redrive_processes_stuck_messages_once_each(alice):
    pks = _stored(3, minutes_ago=5)
    assert redrive() == 3
    messages = InboundMessage.objects.filter(pk__in=pks)
    assert {(m.status, m.attempts) for m in messages} == {(InboundStatus.DONE, 1)}
    assert Ticket.objects.count() == 3
    assert redrive() == 0  # a second run changes nothing
    assert Ticket.objects.count() == 3


def test_a_message_younger_than_a_minute_is_left_to_its_task(alice):
    [pk] = _stored(1, minutes_ago=0.2)
    assert redrive() == 0
    assert InboundMessage.objects.get(pk=pk).status == InboundStatus.STORED


def test_redrive_works_in_batches(alice):
    _stored(5, minutes_ago=3)
    assert redrive(batch=2) == 5
    assert not InboundMessage.objects.filter(status=InboundStatus.STORED).exists()


def test_the_admin_shows_stuck_messages_and_their_age(alice, client):
    _stored(2, minutes_ago=7)
    client.force_login(StaffFactory(username="desk"))
    url = reverse("admin:mail_inboundmessage_changelist")
    page = client.get(url, {"stuck": "yes"}).content.decode()
    assert "2 stuck in “stored”" in page
    assert "7 min" in page


def test_backlog_status_names_the_oldest_waiting_message(alice, settings):
    settings.MAIL_BACKLOG_ALERT_SECONDS = 300
    assert backlog_status() == "ok"
    _stored(2, minutes_ago=10)
    assert backlog_status().startswith("error: 2 stored messages, oldest 6")


@pytest.mark.django_db(transaction=True)
def test_health_reports_a_backlog_as_degraded_but_keeps_serving(alice, client, settings):
    settings.MAIL_BACKLOG_ALERT_SECONDS = 300
    settings.CELERY_BROKER_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    _stored(1, minutes_ago=10)
    response = client.get("/health/")
    body = response.json()
    assert body["mail_backlog"].startswith("error: 1 stored messages")
    assert body["status"] in ("degraded", "error")


# --- a private Redis stopped while mail arrives ------------------------------------------


class PrivateRedis:
    def __init__(self, tmp_path):
        self.port, self.dir = free_port(), tmp_path
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        redis.Redis(port=self.port).ping()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def lmtp_process(private_redis, tmp_path):
    """The LMTP listener as deployed: stores, then queues on the (private) broker."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": private_redis.url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ESERVICE_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_URL": "dummymail://",
    }
    log = (tmp_path / "lmtp.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "lmtp_server", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=60)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_mail_delivered_while_redis_is_down_is_processed_once_after_the_restart(
    alice, private_redis, lmtp_process
):
    private_redis.stop()
    client = smtplib.LMTP("127.0.0.1", lmtp_process, timeout=60)
    try:
        client.ehlo("mx.eservice.example")
        for n in range(5):
            refused = client.sendmail(alice.email, ["premier@eservice.example"], _message(n))
            assert refused == {}  # 250: stored, so the MTA forgets it
    finally:
        client.quit()
    assert InboundMessage.objects.filter(status=InboundStatus.STORED).count() == 5
    private_redis.start()  # back, empty: the tasks that could not be queued are gone
    later = timezone.now() + datetime.timedelta(minutes=2)
    assert redrive(later) == 5
    assert redrive(later) == 0
    messages = InboundMessage.objects.all()
    assert {(m.status, m.attempts) for m in messages} == {(InboundStatus.DONE, 1)}
    assert Ticket.objects.count() == 5
