import json

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from tests.api_fixtures import api_for, api_test_settings  # noqa: F401

pytestmark = pytest.mark.django_db


def test_schema_endpoint_serves_valid_openapi_with_the_ticket_paths(alice):
    response = api_for(alice).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/organizations/",
        "/api/v1/users/",
        "/api/v1/tickets/",
        "/api/v1/tickets/{reference}/",
        "/api/v1/tickets/{reference}/triage/",
        "/api/v1/tickets/{reference}/start/",
        "/api/v1/tickets/{reference}/resolve/",
        "/api/v1/tickets/{reference}/comments/",
        "/api/v1/tickets/{reference}/escalations/",
        "/api/v1/incidents/",
        "/api/v1/availability/",
        "/api/v1/credits/",
    ]:
        assert path in schema["paths"]


def test_ticket_schema_names_the_documented_fields(alice):
    schema = json.loads(api_for(alice).get("/api/schema/?format=json").content)
    properties = schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert {"reference", "response_due_at", "resolution_breached", "escalation_level"} <= set(
        properties
    )
    assert "#/components/schemas/PriorityEnum" in json.dumps(properties["priority"])


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (an unresolvable field, a guessed
    # path parameter) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
