"""End to end: a real Celery beat and worker against Redis fire an overdue escalation."""

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from escalation.models import EscalationEvent
from tests.isolation import redis_key_prefix
from tests.test_escalation_sweep import open_p1

REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
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


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_beat_and_worker_escalate_an_overdue_ticket(alice, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs a database it can share: PostgreSQL")
    redis_or_skip()
    ticket = open_p1(alice)  # received in March 2026: long overdue now
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": REDIS,
        "CELERY_BROKER_KEY_PREFIX": redis_key_prefix("escalation"),
        "ESCALATION_SWEEP_SECONDS": "2",
        "ESERVICE_VAR_DIR": str(tmp_path),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    celery = [sys.executable, "-m", "celery", "-A", "portal"]
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("worker", "beat")}  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [*celery, "worker", "--pool=solo", "-l", "info"],
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [*celery, "beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")],
            env=env,
            stdout=logs["beat"],
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                EscalationEvent.objects.filter(ticket=ticket, notified_at__isnull=False).count()
                == 3
            ):
                break
            time.sleep(1)
        levels = list(ticket.escalations.order_by("level").values_list("level", flat=True))
        worker_log = (tmp_path / "worker.log").read_text()[-3000:]
        assert levels == [1, 2, 3], worker_log
        assert ticket.escalations.filter(notified_at__isnull=True).count() == 0, worker_log
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for handle in logs.values():
            handle.close()
