"""End to end: a real Celery beat and worker against Redis fire an overdue escalation."""

import time

import pytest

from escalation.models import EscalationEvent
from tests.isolation import redis_key_prefix
from tests.processes import REDIS, Processes, worker_env
from tests.test_escalation_sweep import open_p1

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def redis_or_skip():
    try:
        import redis

        client = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
        client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis not reachable: {exc}")


def test_beat_and_worker_escalate_an_overdue_ticket(alice, tmp_path):
    redis_or_skip()
    ticket = open_p1(alice)  # received in March 2026: long overdue now
    env = worker_env(prefix=redis_key_prefix("escalation"), ESCALATION_SWEEP_SECONDS=2)
    with Processes(tmp_path, env) as procs:
        procs.worker()
        procs.beat()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                EscalationEvent.objects.filter(ticket=ticket, notified_at__isnull=False).count()
                == 3
            ):
                break
            time.sleep(1)
        levels = list(ticket.escalations.order_by("level").values_list("level", flat=True))
        assert levels == [1, 2, 3], procs.tail()
        assert ticket.escalations.filter(notified_at__isnull=True).count() == 0, procs.tail()
