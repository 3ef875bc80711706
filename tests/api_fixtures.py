"""Helpers for the API tests: authenticated clients and tickets opened through the services."""

import datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import tokens
from tickets import services

UTC = datetime.UTC
# A Tuesday in business hours (London); tests that travel in time start here.
NOW = datetime.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def api_test_settings(settings):
    """Imported by the API test modules: a fast hasher (personas are made per test) and an
    empty cache, since the token throttle counts there and the cache outlives a test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield
    cache.clear()


def api_for(user=None) -> APIClient:
    """An API client that authenticates like an integrator: `Authorization: Token <key>`."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.issue(user)}")
    return client


def open_ticket(user, **values):
    fields = {"subject": "Heatmap blank", "description": "Nothing renders.", **values}
    return services.open_ticket(organization=user.organization, reporter=user, **fields)


def ticket_url(ticket, action=None) -> str:
    base = f"/api/v1/tickets/{ticket.reference}/"
    return f"{base}{action}/" if action else base


def results(response) -> list:
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def references(response) -> set:
    return {row["reference"] for row in results(response)}
