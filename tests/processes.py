"""Real processes for the end-to-end tests: Celery workers and beats, web servers.

Each process runs `python -m <command>` from the project root with its own var directory
(no shared local disk, as on separate hosts) and its own log, tmp_path/<name>.log; stop()
(or leaving the `with` block) ends them all, killing any that do not stop in time.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
STOP_SECONDS = 15


def database_url() -> str:
    """The test database, for processes that must share it (transactional tests only)."""
    if connection.vendor != "postgresql":
        pytest.fail("the processes share the test database: run the tests on PostgreSQL")
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def worker_env(*, broker: str = REDIS, prefix: str = "", **settings) -> dict:
    """The environment of a worker or beat on the test database: tasks really queued on
    `broker` (under `prefix`, so parallel runs do not share queues), plus these settings."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **{name: str(value) for name, value in settings.items()},
    }
    if prefix:
        env["CELERY_BROKER_KEY_PREFIX"] = prefix
    return env


class Processes:
    def __init__(self, tmp_path: Path, env: dict):
        self.tmp_path, self.env = tmp_path, env
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: list = []

    def __enter__(self) -> "Processes":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, *command: str) -> subprocess.Popen:
        var_dir = self.tmp_path / name
        var_dir.mkdir(exist_ok=True)
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        env = {**self.env, "ESERVICE_VAR_DIR": str(var_dir)}
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self.procs[name]

    def celery(self, name: str, *args: str) -> subprocess.Popen:
        return self.start(name, "celery", "-A", "portal", *args, "-l", "info")

    def worker(self, name: str = "worker", *args: str) -> subprocess.Popen:
        """One task at a time, without waiting for (or chatting with) other workers."""
        options = ("--pool=solo", "--without-mingle", "--without-gossip")
        return self.celery(name, "worker", *options, *args)

    def beat(self, name: str = "beat") -> subprocess.Popen:
        return self.celery(name, "beat", "-s", str(self.tmp_path / name / "beat-schedule"))

    def web(self, name: str) -> str:
        port = free_port()
        self.start(name, "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1")
        return f"http://127.0.0.1:{port}"

    def log(self, name: str = "worker") -> str:
        for handle in self.logs:
            handle.flush()
        return (self.tmp_path / f"{name}.log").read_text()

    def tail(self, name: str = "worker", chars: int = 3000) -> str:
        return self.log(name)[-chars:]

    def tails(self) -> str:
        return "\n".join(f"--- {name}\n{self.tail(name, 1500)}" for name in self.procs)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for handle in self.logs:
            handle.close()
        self.logs = []
