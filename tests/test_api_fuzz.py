"""Issue 10: schemathesis drives every operation of /api/schema/ with a client token and a
staff token (bounded examples): no answer is a 5xx, and every documented answer matches the
schema."""

import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.openapi.checks import JsonSchemaError  # noqa: F401 - the failure it reports

from accounts import tokens
from tests.api_fixtures import api_test_settings, open_ticket  # noqa: F401

pytestmark = pytest.mark.django_db
EXAMPLES = 6  # per operation and token: the whole run stays well under a minute
BUDGET_SECONDS = 60


def _operations():
    from portal.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation, key, failures):
    from schemathesis.checks import response_schema_conformance

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        try:
            case.call_and_validate(
                headers={"Authorization": f"Token {key}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
        except Exception as exc:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")

    run()


@pytest.fixture
def keep_the_test_connection():
    """Requests go through the WSGI handler in this thread; like Django's test client, keep
    it from closing the test's database connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_the_api_answers_every_fuzzed_request_within_its_schema(
    alice, charlie, keep_the_test_connection
):
    open_ticket(alice)  # something to list and to find
    failures = []
    started = time.monotonic()
    for operation in _operations():
        for user in (alice, charlie):
            # A fresh token each time: the logout operation revokes the one it is given.
            _fuzz(operation, tokens.issue(user), failures)
    assert failures == [], "\n\n".join(dict.fromkeys(failures))
    assert time.monotonic() - started < BUDGET_SECONDS * 2
