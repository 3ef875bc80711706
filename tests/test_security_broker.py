"""Issue 10 finding 9: the Celery worker survives broker restarts (a private Redis killed and
started again, three times) and keeps consuming; scripts/run-all restarts a crashed process."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from tests.test_mail_transports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60


def _redis(port: int, tmp_path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return process


def _log(path: Path, tail: int | None = 4000) -> str:
    text = path.read_text() if path.exists() else ""
    return text[-tail:] if tail else text


def _pong(url: str, queue: str, marker: Path, worker, log: Path) -> None:
    """Send a ping until it is consumed: a send made while the worker reconnects may sit in
    the queue a while; the deadline is generous."""
    sender = Celery("probe", broker=url)
    try:
        deadline = time.monotonic() + DEADLINE
        sender.send_task("portal.tasks.ping", args=[str(marker)], queue=queue)
        while not marker.exists():
            assert worker.poll() is None, f"the worker died:\n{_log(log)}"
            assert time.monotonic() < deadline, f"no pong:\n{_log(log)}"
            time.sleep(0.2)
    finally:
        sender.close()


@pytest.mark.integration
def test_the_worker_survives_three_broker_restarts(tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    broker = _redis(port, tmp_path)
    queue = f"restarts-{os.getpid()}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ESERVICE_VAR_DIR": str(tmp_path / "var"),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
            "--hostname",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        _pong(url, queue, tmp_path / "pong-0", worker, log)
        for n in range(1, 4):
            broker.send_signal(signal.SIGKILL)
            broker.wait(timeout=10)
            time.sleep(1.5)  # the worker notices and starts retrying
            broker = _redis(port, tmp_path)
            _pong(url, queue, tmp_path / f"pong-{n}", worker, log)
        assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        broker.kill()
        broker.wait()


@pytest.mark.integration
def test_run_all_restarts_a_crashed_process_and_ctrl_c_stops_everything(tmp_path):
    drop = (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "DJANGO_SETTINGS_MODULE",
        "SECRET_KEY",
    )
    env = {k: v for k, v in os.environ.items() if k not in drop}
    port = free_port()
    env.update(ESERVICE_VAR_DIR=str(tmp_path / "var"), PORT=str(port), HOST="127.0.0.1")
    env["PYTHON"] = sys.executable  # as `make run` passes it: the interpreter under test
    out = tmp_path / "run-all.log"
    run_all = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "run-all")],
        cwd=ROOT,
        env=env,
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # As from a terminal: a pytest-xdist worker ignores SIGINT, and a shell started with
        # a signal ignored may not trap it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        wait_for_port(port, timeout=240)
        worker_pid = _started_pid(out, "worker")
        os.kill(worker_pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "worker started again" not in _log(out, tail=None):
            assert run_all.poll() is None, _log(out)
            assert time.monotonic() < deadline, _log(out)
            time.sleep(0.5)
        wait_for_port(port, timeout=10)  # the web server never stopped
        run_all.send_signal(signal.SIGINT)
        try:
            assert run_all.wait(timeout=90) == 0
        except subprocess.TimeoutExpired:
            pytest.fail(f"run-all did not stop on Ctrl-C:\n{_log(out)}")
        assert "stopping web, worker and beat" in _log(out, tail=None)
        assert not _alive(_pids(out))
    finally:
        if run_all.poll() is None:
            os.killpg(run_all.pid, signal.SIGKILL)
            run_all.wait()
        for pid in _alive(_pids(out)):  # its children lead process groups of their own
            os.killpg(pid, signal.SIGKILL)


def _started_pid(out: Path, name: str, timeout: float = 60) -> int:
    """The pid run-all reported for `name`, read from the whole log: the worker's and beat's
    banners soon push run-all's own line out of any tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(rf"{name} \(pid (\d+)\)", _log(out, tail=None))
        if found:
            return int(found.group(1))
        time.sleep(0.2)
    pytest.fail(f"run-all never reported its {name}:\n{_log(out)}")


def _pids(out: Path) -> set[int]:
    """Every process run-all reported starting ("… (pid 123) …")."""
    return {int(pid) for pid in re.findall(r"\(pid (\d+)\)", _log(out, tail=None))}


def _alive(pids) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except OSError:
            continue
        alive.append(pid)
    return alive
