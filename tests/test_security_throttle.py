"""Spec 8: sign-in throttling shared by every door and every process, keyed by account and by
client address; X-Forwarded-For believed only from TRUSTED_PROXIES; 429 with Retry-After in
the API, a clear message in the forms; password-reset mails limited too."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests
from django.core import mail
from django.db import connection
from django.urls import reverse

from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import ClientFactory, StaffFactory
from tests.isolation import redis_key_prefix
from tests.test_mail_transports import database_url, free_port, wait_for_port

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "pw-Secret-123"
TOKEN = "/api/v1/auth/token/"


def _token(username, password="wrong", **extra):
    return api_for().post(TOKEN, {"username": username, "password": password}, **extra)


def test_after_a_few_failures_even_the_right_password_is_refused_with_429(alice, settings):
    for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
        assert _token("alice").status_code == 400
    refused = _token("alice", PASSWORD)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 15 * 60
    assert "detail" in refused.json()


def test_one_client_address_is_limited_across_accounts(db, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 4
    codes = [_token(f"user{n}").status_code for n in range(6)]
    assert codes == [400, 400, 400, 400, 429, 429]
    other_peer = _token("user9", REMOTE_ADDR="192.0.2.7")
    assert other_peer.status_code == 400


def test_forwarded_for_is_ignored_from_an_untrusted_peer(db, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 3
    codes = [
        _token(f"user{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]


def test_forwarded_for_names_the_client_behind_a_trusted_proxy(db, settings):
    settings.SIGNIN_FAILURES_PER_ADDRESS = 3
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    spoofed_then_real = "203.0.113.9, 198.51.100.{}"  # the proxy appends the real client
    codes = [
        _token(f"user{n}", HTTP_X_FORWARDED_FOR=spoofed_then_real.format(n)).status_code
        for n in range(5)
    ]
    assert codes == [400] * 5  # five different clients
    same = [_token(f"x{n}", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for n in range(3)]
    assert same == [400, 400, 429]  # 198.51.100.1 had one failure already


def _portal_login(client, username, password="wrong"):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_the_portal_sign_in_says_to_wait_and_counts_for_every_door(alice, client, settings):
    for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT - 1):
        assert _portal_login(client, "alice").status_code == 200
    assert _token("alice").status_code == 400  # the API's failure counts at the portal
    page = _portal_login(client, "alice", PASSWORD)
    assert "Too many attempts" in page.content.decode()
    assert "_auth_user_id" not in client.session
    assert _token("alice", PASSWORD).status_code == 429


def test_the_admin_sign_in_is_throttled(db, client, settings):
    StaffFactory(username="desk")
    url = reverse("admin:login")
    for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
        client.post(url, {"username": "desk", "password": "wrong"})
    page = client.post(url, {"username": "desk", "password": PASSWORD})
    assert "Too many attempts" in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_are_limited_per_address(alice, client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = reverse("password_reset")
    for _ in range(settings.PASSWORD_RESETS_PER_ACCOUNT):
        assert client.post(url, {"email": alice.email}).status_code == 302
    page = client.post(url, {"email": alice.email})
    assert page.status_code == 200 and "Too many attempts" in page.content.decode()
    assert len(mail.outbox) == settings.PASSWORD_RESETS_PER_ACCOUNT


def test_the_database_cache_made_by_migrate_holds_the_counters(alice, settings):
    # Without REDIS_URL the shared cache is the table portal's migration 0001 creates.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "eservice_cache",
        }
    }
    for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT):
        assert _token("alice").status_code == 400
    assert _token("alice", PASSWORD).status_code == 429
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM eservice_cache")
        assert cursor.fetchone()[0] >= 2


# --- two processes sharing Redis ------------------------------------------------------------


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn processes on one database and one Redis, under a key prefix of their own."""
    prefix = redis_key_prefix("signin")
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": prefix,
        "SECRET_KEY": "two-servers-" + "k" * 40,
        "ESERVICE_VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "portal.settings",  # Redis, as deployed
    }
    servers, ports = [], [free_port(), free_port()]
    for port in ports:
        log = (tmp_path / f"gunicorn-{port}.log").open("w")
        command = [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}"]
        servers.append(
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )
    try:
        for port in ports:
            wait_for_port(port, timeout=60)
            # gunicorn binds before its worker has imported Django: wait for an answer.
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=120)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        client = redis.Redis.from_url(env["REDIS_URL"])
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_failures_count_across_two_processes_sharing_redis(two_servers, settings):
    ClientFactory(username="erin")
    limit = settings.SIGNIN_FAILURES_PER_ACCOUNT
    codes = []
    for n in range(limit + 2):
        base = two_servers[n % 2]  # alternate: neither process alone saw enough failures
        body = {"username": "erin", "password": "wrong"}
        response = requests.post(base + TOKEN, json=body, timeout=30)
        codes.append(response.status_code)
    assert codes == [400] * limit + [429, 429], codes
    assert int(response.headers["Retry-After"]) > 0
    right = requests.post(
        two_servers[0] + TOKEN, json={"username": "erin", "password": PASSWORD}, timeout=30
    )
    assert right.status_code == 429
