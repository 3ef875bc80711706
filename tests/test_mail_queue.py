"""The push transports through the queue: the LMTP listener and the inbound webhook store each
message and ring for a drain task; real Celery workers take the stored messages in batches.
Every wait is on a condition with a deadline."""

import asyncio
import base64
import datetime
import json
import os
import smtplib
import subprocess
import sys
import time

import psycopg
import pytest
import redis
from celery import Celery
from django.utils import timezone

from tests.factories import TicketFactory
from tests.isolation import redis_key_prefix
from tests.mail import eml
from tests.test_mail_transports import ROOT, database_url, free_port, wait_for_port
from tickets.mail import intake, lmtp
from tickets.mail.batch import drain, process_next
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.mail.redrive import redrive
from tickets.mail.store import store
from tickets.models import Comment, Ticket

REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
DEADLINE = 180  # seconds; a loaded machine is slow, a wait ends as soon as its condition holds
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _message(n: int, tag: str = "burst") -> bytes:
    return eml(
        "plain_new.eml",
        **{"<CAF1x2plain@": f"<{tag}-{n}@", "Heatmap not loading": f"Heatmap {tag} {n} blank"},
    )


def _reply(n: int, reference: str) -> bytes:
    return eml(
        "plain_new.eml",
        **{
            "<CAF1x2plain@": f"<reply-{n}@",
            "Subject: Heatmap not loading": f"Subject: Re: [{reference}] more {n}",
        },
    )


def _wait_until(condition, what: str, logs=()) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(path.read_text()[-3000:] for path in logs if path.exists())
            pytest.fail(f"not within {DEADLINE} s: {what}\n{tails}")
        time.sleep(0.2)


class Services:
    """The LMTP listener and Celery workers as deployed, on this test's own Redis prefix."""

    def __init__(self, tmp_path):
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
        self.tmp_path, self.procs, self.logs = tmp_path, [], []
        self.prefix = redis_key_prefix("mailq")
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS,
            "CELERY_BROKER_KEY_PREFIX": self.prefix,
            "CACHE_KEY_PREFIX": self.prefix,  # the flood counters are this test's alone
            "TICKETS_PER_SENDER_PER_HOUR": "1000",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "ESERVICE_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "EMAIL_URL": "dummymail://",
        }

    def start(self, name: str, *command) -> None:
        log_path = self.tmp_path / f"{name}.log"
        log = log_path.open("w")
        self.procs.append(subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log))
        self.logs.append((log, log_path))

    def worker(self, name: str) -> None:
        self.start(
            name,
            *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo"),
            *("--without-mingle", "--without-gossip", "-l", "info", "-n", f"{name}@%h"),
        )

    def lmtp(self) -> int:
        port = free_port()
        self.start("lmtp", sys.executable, "manage.py", "lmtp_server", "--port", str(port))
        wait_for_port(port, timeout=60)
        return port

    def send(self, task: str) -> None:
        """Queue a task on this test's broker prefix (what the doorbell of a process does)."""
        probe = Celery("probe", broker=REDIS)
        probe.conf.broker_transport_options = {"global_keyprefix": self.prefix}
        try:
            probe.send_task(task)
        finally:
            probe.close()

    @property
    def log_paths(self):
        return [path for _, path in self.logs]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log, _ in self.logs:
            log.close()
        server = redis.Redis.from_url(REDIS)
        leftovers = list(server.scan_iter(match=f"{self.prefix}*"))
        if leftovers:
            server.delete(*leftovers)
        server.close()


@pytest.fixture
def services(tmp_path):
    running = Services(tmp_path)
    yield running
    running.stop()


def _deliver(port: int, messages: list[bytes], sender: str) -> None:
    client = smtplib.LMTP("127.0.0.1", port, timeout=60)
    try:
        client.ehlo("mx.eservice.example")
        for raw in messages:
            # 250 for the recipient: the message is stored, the MTA forgets it.
            assert client.sendmail(sender, ["premier@eservice.example"], raw) == {}
    finally:
        client.quit()


def _finished() -> int:
    return InboundMessage.objects.exclude(status=InboundStatus.STORED).count()


def test_an_lmtp_burst_through_the_queue_lands_each_message_once(alice, services):
    existing = TicketFactory(organization=alice.organization, reporter=alice)
    services.worker("drain1")
    services.worker("drain2")
    port = services.lmtp()
    burst = [_message(n) for n in range(40)] + [_reply(n, existing.reference) for n in range(10)]
    _deliver(port, burst, alice.email)
    _deliver(port, burst[:5], alice.email)  # the MTA delivers five of them again
    _wait_until(lambda: _finished() == 50, "50 messages processed", services.log_paths)

    messages = InboundMessage.objects.all()
    assert messages.count() == 50
    assert {(m.status, m.attempts) for m in messages} == {(InboundStatus.DONE, 1)}
    assert Ticket.objects.exclude(pk=existing.pk).count() == 40
    assert Comment.objects.filter(ticket=existing).count() == 10
    subjects = Ticket.objects.exclude(pk=existing.pk).values_list("subject", flat=True)
    assert len(set(subjects)) == 40


def test_a_stored_message_whose_drain_was_lost_is_redriven_once(
    alice, services, settings, monkeypatch
):
    """A crash between store and processing (the ring never reached a worker): beat's
    redrive processes the message; a drain task arriving late finds nothing left."""
    settings.MAIL_INTAKE_INLINE = False
    # The process died before its ring was sent.
    monkeypatch.setattr(intake, "doorbell", intake.Doorbell(send=lambda: None))
    stored = intake.accept(_message(1, "lost"), alice.email, ["premier@eservice.example"])
    assert stored.status == InboundStatus.STORED
    assert redrive() == 0  # younger than a minute: still its task's

    later = timezone.now() + datetime.timedelta(minutes=2)
    assert redrive(later) == 1
    services.worker("late")
    services.send("mail.drain_inbound")  # the lost drain, delivered late after all
    services.send("mail.redrive_stored")
    _wait_until(lambda: _worker_ran(services, 2), "the late tasks ran", services.log_paths)
    message = InboundMessage.objects.get()
    assert (message.status, message.attempts) == (InboundStatus.DONE, 1)
    assert Ticket.objects.count() == 1


def _worker_ran(services, count: int) -> bool:
    log = (services.tmp_path / "late.log").read_text()
    return log.count(" succeeded in ") >= count


def test_the_inbound_webhook_answers_once_stored_and_a_worker_processes(
    alice, client, settings, services, monkeypatch
):
    settings.MAIL_INTAKE_INLINE = False
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    monkeypatch.setattr(intake.doorbell, "send", lambda: services.send("mail.drain_inbound"))
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    for n in range(20):
        payload = {
            "RawEmail": _message(n, "hook").decode(),
            "OriginalRecipient": "premier@eservice.example",
        }
        response = client.post(
            "/mail/anymail/postmark/inbound/",
            json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=auth,
        )
        assert response.status_code == 200
        assert InboundMessage.objects.count() == n + 1  # stored before the 2xx
    services.worker("hook")
    intake.doorbell.flush()
    _wait_until(lambda: _finished() == 20, "20 webhook messages processed", services.log_paths)
    assert {(m.status, m.attempts) for m in InboundMessage.objects.all()} == {
        (InboundStatus.DONE, 1)
    }
    assert Ticket.objects.count() == 20


def test_process_next_skips_rows_another_worker_holds(alice):
    pks = [
        store(_message(n, "held"), alice.email, ["premier@eservice.example"])[0].pk
        for n in range(3)
    ]
    table = InboundMessage._meta.db_table
    with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as other:
        # Another worker holds the first message in its transaction.
        other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [pks[0]])  # noqa: S608
        processed = process_next(limit=10)
        assert sorted(m.pk for m in processed) == pks[1:]
        other.rollback()
    assert drain() == (1, False)
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.DONE}


def test_messages_arriving_together_are_stored_in_one_group(alice, settings, monkeypatch):
    settings.MAIL_INTAKE_INLINE = False
    monkeypatch.setattr(intake, "doorbell", intake.Doorbell(send=lambda: None))
    groups = []
    real = lmtp.accept_group

    def recorded(items):
        groups.append(len(items))
        return real(items)

    monkeypatch.setattr(lmtp, "accept_group", recorded)
    commit = lmtp.GroupCommit()
    items = [(_message(n, "group"), alice.email, ["premier@eservice.example"]) for n in range(5)]

    async def deliver_all():
        await asyncio.gather(*(commit.store(item) for item in items))

    asyncio.run(deliver_all())
    assert groups == [5]
    assert InboundMessage.objects.filter(status=InboundStatus.STORED).count() == 5


def test_a_message_that_cannot_be_stored_is_refused_alone(alice, settings, monkeypatch):
    """A group that fails is stored one message at a time: only the bad one gets a 451."""
    settings.MAIL_INTAKE_INLINE = False
    monkeypatch.setattr(intake, "doorbell", intake.Doorbell(send=lambda: None))

    def failing_group(items):
        raise RuntimeError("a message of the group broke the INSERT")

    def failing_store(raw, *args, **kwargs):
        if b"STORE-FAILS" in raw:
            raise RuntimeError("cannot store this one")
        return store(raw, *args, **kwargs)

    monkeypatch.setattr(intake, "store_group", failing_group)
    monkeypatch.setattr(intake, "store", failing_store)
    port = free_port()
    ctl = lmtp.controller("127.0.0.1", port)
    ctl.start()
    try:
        bad = _message(2, "refused").replace(b"Heatmap refused 2", b"STORE-FAILS")
        client = smtplib.LMTP("127.0.0.1", port, timeout=60)
        client.ehlo("mx.eservice.example")
        assert client.sendmail(alice.email, ["premier@eservice.example"], _message(1, "ok")) == {}
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail(alice.email, ["premier@eservice.example"], bad)
        assert refused.value.smtp_code == 451
        client.quit()
    finally:
        ctl.stop()
    assert list(InboundMessage.objects.values_list("key", flat=True)) == [
        "<ok-1@mail.acme.example>"
    ]
