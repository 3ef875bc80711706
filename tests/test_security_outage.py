"""Spec 8, outages: with the database down (a closed port) or hung (a listener that accepts
and never answers), the API answers 503 JSON, the portal a styled 503 page, /health/ within
2 seconds, and ingest_email exits 75 after its time-out: never a 500, never a hang."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.test_mail_transports import CORPUS, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
CONNECT_TIMEOUT = 2  # seconds (psycopg's minimum); the settings' default is 3


class SilentDatabase:
    """Accepts TCP connections and never says a word, like a wedged PostgreSQL."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.held, self.stopped = [], False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.stopped = True
        self.socket.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent_database():
    server = SilentDatabase()
    yield server.port
    server.close()


def _web(tmp_path, db_port: int):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{db_port}/eservice",
        "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "ESERVICE_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
    }
    log = (tmp_path / "web.log").open("w")
    command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=60)
    base = f"http://127.0.0.1:{port}"
    # gunicorn binds before its worker has imported Django: time requests once it answers.
    requests.get(base + "/accounts/login/", timeout=120)
    return process, base


def _timed(method, url, **kwargs):
    started = time.monotonic()
    response = requests.request(method, url, timeout=60, **kwargs)
    return response, time.monotonic() - started


def _assert_outage_answers(base: str, budget: float) -> None:
    api, took = _timed("get", base + "/api/v1/tickets/", headers={"Authorization": "Token x"})
    assert api.status_code == 503 and "unavailable" in api.json()["detail"]
    assert api.headers["Retry-After"] and took < budget
    page, took = _timed("get", base + "/", cookies={"sessionid": "a" * 32})
    assert page.status_code == 503 and took < budget
    assert "text/html" in page.headers["Content-Type"]
    assert "Service temporarily unavailable" in page.text and "portal.css" in page.text
    health, took = _timed("get", base + "/health/")
    assert health.status_code == 503 and took < 2.5
    assert health.json()["database"].startswith("error")


@pytest.mark.integration
@pytest.mark.parametrize("database", ["closed_port", "silent"])
def test_the_site_answers_503_while_the_database_is_unreachable(
    tmp_path, database, silent_database
):
    db_port = free_port() if database == "closed_port" else silent_database
    process, base = _web(tmp_path, db_port)
    try:
        # A hung database costs at most the connect time-out, then a 503.
        _assert_outage_answers(base, budget=CONNECT_TIMEOUT * 2 + 5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Internal Server Error" not in (tmp_path / "web.log").read_text()


@pytest.mark.integration
def test_ingest_email_exits_75_when_the_database_hangs(tmp_path, silent_database):
    started = time.monotonic()
    result = _ingest(tmp_path, silent_database)
    assert result.returncode == 75, result.stderr
    assert b"could not store" in result.stderr
    assert time.monotonic() - started < 60


def _ingest(tmp_path, db_port):
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{db_port}/eservice",
        "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "ESERVICE_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "ingest_email", str(CORPUS / "plain_new.eml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_postgresql_connections_carry_connect_and_statement_time_outs():
    options = connection.settings_dict["OPTIONS"]
    assert options["connect_timeout"] == 3
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "30s"
