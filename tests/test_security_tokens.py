"""Spec 8: API tokens are stored hashed, expire, and end on logout and on a password change;
staff revoke them in the admin, which never shows a key."""

import datetime
import hashlib
import importlib
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import tokens
from accounts.authentication import TokenAuthentication
from accounts.models import ApiToken
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-Secret-123"


def _sign_in(user) -> str:
    response = api_for().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _me(key: str) -> int:
    client = api_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/users/me/").status_code


def test_the_key_is_stored_only_as_its_sha256(alice):
    key = _sign_in(alice)
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        assert key not in repr(cursor.fetchall())
    assert _me(key) == 200


def test_a_token_expires_after_the_configured_hours(alice, settings):
    settings.API_TOKEN_TTL_HOURS = 2
    key = _sign_in(alice)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, minutes=59)):
        assert _me(key) == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2, minutes=1)):
        assert _me(key) == 401


def test_logout_revokes_the_token_used_and_only_it(alice):
    first, second = _sign_in(alice), _sign_in(alice)
    client = api_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert _me(first) == 401 and _me(second) == 200
    assert client.post("/api/v1/auth/logout/").status_code == 401


def test_a_password_change_in_the_portal_revokes_every_token(alice, client):
    key = _sign_in(alice)
    client.force_login(alice)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "An0ther-Pass!",
            "new_password2": "An0ther-Pass!",
        },
    )
    assert response.status_code == 302
    assert _me(key) == 401


def test_a_password_change_in_the_admin_revokes_every_token(alice, client):
    key = _sign_in(alice)
    client.force_login(StaffFactory(username="root", is_superuser=True))
    url = reverse("admin:auth_user_password_change", args=[alice.pk])
    response = client.post(url, {"password1": "An0ther-Pass!", "password2": "An0ther-Pass!"})
    assert response.status_code == 302, response.content
    assert _me(key) == 401


def test_a_password_set_by_any_path_revokes_every_token(alice):
    key = _sign_in(alice)
    alice.refresh_from_db()
    alice.first_name = "Alice"
    alice.save()  # an unrelated change keeps the token
    assert _me(key) == 200
    alice.set_password("An0ther-Pass!")
    alice.save(update_fields=["password"])
    assert _me(key) == 401


def test_staff_see_and_revoke_tokens_in_the_admin_without_the_key(alice, client):
    key = _sign_in(alice)
    client.force_login(StaffFactory(username="desk"))
    listing = client.get(reverse("admin:accounts_apitoken_changelist"))
    assert listing.status_code == 200 and b"alice" in listing.content
    token = ApiToken.objects.get()
    detail = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    for page in (listing, detail):
        assert key.encode() not in page.content and token.digest.encode() not in page.content
    client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert _me(key) == 401


def test_authentication_costs_one_query(alice, django_assert_num_queries):
    key = tokens.issue(alice)
    with django_assert_num_queries(1):
        user, _ = TokenAuthentication().authenticate_credentials(key)
        assert user.organization.contract.plan.slug


def test_the_migration_hashes_keys_kept_in_clear(alice):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "user_id bigint NOT NULL, created timestamp with time zone NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            ["a" * 40, alice.pk, timezone.now()],
        )
    migration = importlib.import_module("accounts.migrations.0004_hashed_api_tokens")
    migration.hash_existing_keys(apps, SimpleNamespace(connection=connection))
    assert _me("a" * 40) == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0


# -- the per-process copies of found tokens (accounts.tokens.find) --------------------------------


def test_a_known_token_costs_no_query_on_later_requests(alice, django_assert_num_queries):
    key = tokens.issue(alice)
    TokenAuthentication().authenticate_credentials(key)
    with django_assert_num_queries(0):
        user, _ = TokenAuthentication().authenticate_credentials(key)
        assert user.organization.contract.plan.slug


def test_each_request_gets_its_own_copy_of_the_user(alice):
    key = tokens.issue(alice)
    first, _ = TokenAuthentication().authenticate_credentials(key)
    first.first_name = "changed by one request, never saved"
    second, _ = TokenAuthentication().authenticate_credentials(key)
    assert second.first_name != first.first_name and second.pk == alice.pk


def test_a_revocation_by_another_process_applies_on_the_next_request(alice):
    key = tokens.issue(alice)
    assert _me(key) == 200
    with connection.cursor() as cursor:  # another process: no signal reaches this one
        cursor.execute("DELETE FROM accounts_apitoken")
    assert _me(key) == 200  # this process's copy, until the shared version moves
    tokens._new_version()  # what the other process does once its revocation is committed
    assert _me(key) == 401


def test_deactivating_a_user_ends_their_cached_token(alice):
    key = tokens.issue(alice)
    assert _me(key) == 200
    alice.is_active = False
    alice.save()
    assert _me(key) == 401


def test_a_contract_change_reaches_the_next_request(alice, org):
    key = tokens.issue(alice)
    TokenAuthentication().authenticate_credentials(key)
    org.contract.region = "US-PST"
    org.contract.save()
    user, _ = TokenAuthentication().authenticate_credentials(key)
    assert user.organization.contract.region == org.contract.region


def test_a_copy_expires_with_its_token(alice, settings):
    settings.API_TOKEN_TTL_HOURS = 1
    key = tokens.issue(alice)
    assert _me(key) == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, minutes=1)):
        assert _me(key) == 401


def test_tokens_still_authenticate_when_the_cache_is_down(alice, monkeypatch):
    key = tokens.issue(alice)

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(tokens.cache, "get", down)
    assert _me(key) == 200
    tokens.revoke(ApiToken.objects.get())
    assert _me(key) == 401
