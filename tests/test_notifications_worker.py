"""The outbox through real processes: a Celery worker on Redis sends what a task names, and
beat's re-drive sends what a broker outage kept from being queued — each mail exactly once."""

import subprocess
import time
from collections import Counter

import pytest
import redis
from celery import Celery

from notifications.models import Notification, Status
from tests.isolation import redis_key_prefix
from tests.processes import REDIS, Processes, worker_env
from tests.smtp_sink import SmtpSink, free_port
from tickets import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def open_tickets(user, count, tag):
    return [
        services.open_ticket(
            organization=user.organization,
            reporter=user,
            subject=f"{tag} {n}",
            description="Replay stalls.",
        )
        for n in range(count)
    ]


def celery_env(broker, sink, *, prefix="") -> dict:
    return worker_env(
        broker=broker,
        prefix=prefix,
        EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
        NOTIFICATIONS_REDRIVE_SECONDS=1,
        ESCALATION_SWEEP_SECONDS=3600,
    )


def test_a_worker_sends_the_rows_a_task_names(alice, tmp_path):
    redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    prefix = redis_key_prefix("notify")
    with SmtpSink() as sink, Processes(tmp_path, celery_env(REDIS, sink, prefix=prefix)) as procs:
        procs.worker()
        open_tickets(alice, 2, "Worker")
        ids = list(Notification.objects.values_list("pk", flat=True))
        probe = Celery("probe", broker=REDIS)
        probe.conf.broker_transport_options = {"global_keyprefix": prefix}
        probe.send_task("notifications.tasks.deliver", args=[ids])
        probe.send_task("notifications.tasks.deliver", args=[ids])  # a duplicate task
        sink.wait_for(len(ids), timeout=90)
        time.sleep(1)  # room for a wrong second send to show up
        ids_seen = Counter(m["Message-ID"] for _, m in sink.messages)
        assert len(ids_seen) == len(ids) == 4, procs.tail()
        assert set(ids_seen.values()) == {1}
        assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


class PrivateRedis:
    """A redis-server of our own on a free port, which the test stops and restarts."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.proc = free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 60  # a bound for a loaded machine
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None


def test_a_broker_outage_delays_mail_and_loses_none(alice, tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    with SmtpSink() as sink:
        procs = Processes(tmp_path, celery_env(broker.url, sink))
        try:
            procs.worker()
            procs.beat()
            open_tickets(alice, 1, "Before")
            sink.wait_for(2, timeout=90)  # ack + queue notice: worker and beat are up
            assert len(sink.messages) == 2, procs.tail()

            broker.stop()
            open_tickets(alice, 3, "During")  # their rows wait in the outbox
            time.sleep(3)  # beat keeps failing to reach the broker meanwhile
            broker.start()
            sink.wait_for(8, timeout=120)
            time.sleep(2)  # room for a duplicate to show up
            seen = Counter(m["Message-ID"] for _, m in sink.messages)
            assert len(seen) == 8 and set(seen.values()) == {1}, procs.tail()
            rows = set(Notification.objects.values_list("message_id", flat=True))
            assert rows == set(seen)
        finally:
            procs.stop()
            broker.stop()
