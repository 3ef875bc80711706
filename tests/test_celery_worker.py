"""A real Celery worker process consumes a task from Redis (no eager mode, no mocks)."""

import os
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from celery import Celery

from tests.processes import Processes

# A bound, not a wait: the loop ends at the pong. A worker's start on a loaded machine (load
# 8-9 on 2 cores) has taken more than 30 s.
TIMEOUT = 180


def broker_url() -> str:
    """REDIS_URL's server, on database 6 so nothing else's queues are touched."""
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit((parts.scheme, parts.netloc, "/6", parts.query, parts.fragment))


@pytest.mark.integration
def test_worker_consumes_ping_from_redis(tmp_path):
    url = broker_url()
    queue = f"test-ping-{uuid.uuid4().hex[:12]}"
    marker = tmp_path / "pong.txt"
    server = redis.Redis.from_url(url, socket_connect_timeout=5)
    server.ping()  # Redis must be there: this test fails, never skips, without it.

    env = dict(os.environ, CELERY_BROKER_URL=url)
    sender = Celery("probe", broker=url)
    with Processes(tmp_path, env) as procs:
        worker = procs.worker(
            "worker", "-Q", queue, "--without-heartbeat", "--hostname", f"{queue}@%h"
        )
        try:
            sender.send_task("portal.tasks.ping", args=[str(marker)], queue=queue)
            deadline = time.monotonic() + TIMEOUT
            while not marker.exists() and time.monotonic() < deadline:
                assert worker.poll() is None, f"worker exited early:\n{procs.tail()}"
                time.sleep(0.2)
            assert marker.exists(), f"no pong within {TIMEOUT} s; worker log:\n{procs.tail()}"
            assert marker.read_text() == "pong"
        finally:
            sender.close()
            leftovers = list(server.scan_iter(match=f"*{queue}*"))
            if leftovers:
                server.delete(*leftovers)
            server.close()
