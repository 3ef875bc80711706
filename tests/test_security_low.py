"""Issue 10's low findings: each is a 4xx naming the field, a schema that says null, a docs
page with no third-party script, bounded incidents, and a GET that writes nothing."""

import datetime
import json

import pytest
import time_machine
from django.utils import timezone

from sla.availability.models import CreditStatus, Incident, ServiceCredit
from tests.api_fixtures import api_for, api_test_settings, open_ticket, results, ticket_url  # noqa: F401

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


@pytest.mark.parametrize("bound", ["2026-03-01T00:00:00+16:29", "2026-03-01T00:00:00-99:00"])
def test_an_offset_no_clock_has_is_a_400_naming_the_filter(alice, bound):
    response = api_for(alice).get("/api/v1/incidents/", {"started_at__gte": bound})
    assert response.status_code == 400 and "started_at__gte" in response.json()


def test_a_real_offset_still_filters(alice, charlie):
    Incident.objects.create(
        started_at=datetime.datetime(2026, 3, 2, tzinfo=UTC), summary="x", created_by=charlie
    )
    response = api_for(alice).get(
        "/api/v1/incidents/", {"started_at__gte": "2026-03-01T23:00:00-01:00"}
    )
    assert response.status_code == 200 and len(results(response)) == 1


def test_the_schema_says_which_fields_may_be_null(alice):
    schema = json.loads(api_for(alice).get("/api/schema/?format=json").content)["components"]
    schemas = schema["schemas"]
    for component, field in [
        ("TicketDetail", "reporter"),
        ("TicketDetail", "assignee_username"),
        ("Comment", "author"),
    ]:
        assert schemas[component]["properties"][field].get("nullable") is True, (component, field)


def test_api_docs_load_swagger_from_the_site_itself(client):
    page = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in page and "unpkg" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "<script>" not in page.replace(" ", "")  # no inline script: the CSP allows it
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def test_the_swagger_bundle_is_served_locally(client):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"started_at": "0022-03-01T10:00:00+00:00", "ended_at": "0022-03-01T11:00:00+00:00"},
            "started_at",
        ),
        (
            {"started_at": "1969-12-31T10:00:00+00:00", "ended_at": "2026-01-01T00:00:00+00:00"},
            "started_at",
        ),
        ({"started_at": "2025-01-01T10:00:00+00:00"}, "ended_at"),  # open for over a year
        (
            {"started_at": "2026-03-01T10:00:00+00:00", "ended_at": "2026-02-01T10:00:00+00:00"},
            "ended_at",
        ),
    ],
)
def test_incidents_are_bounded(charlie, body, field):
    with time_machine.travel(datetime.datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        response = api_for(charlie).post("/api/v1/incidents/", {**body, "summary": "Outage"})
    assert response.status_code == 400 and field in response.json(), response.content
    assert not Incident.objects.exists()


def test_a_recent_open_incident_is_accepted(charlie):
    with time_machine.travel(datetime.datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        body = {"started_at": "2026-04-01T10:00:00+00:00", "summary": "Outage"}
        assert api_for(charlie).post("/api/v1/incidents/", body).status_code == 201


def test_the_escalate_409_names_the_field(alice):
    ticket = open_ticket(alice, priority="P1")
    api = api_for(alice)
    for level in (1, 2, 3):
        assert api.post(ticket_url(ticket, "escalate"), {"reason": f"{level}"}).status_code == 201
    refused = api.post(ticket_url(ticket, "escalate"), {"reason": "more"})
    assert refused.status_code == 409 and "escalation_level" in refused.json()


def test_reading_credits_writes_nothing_and_shows_lapsed_ones_as_expired(
    alice, django_assert_max_num_queries
):
    now = timezone.now()
    lapsed = ServiceCredit.objects.create(
        organization=alice.organization,
        kind="availability",
        month=datetime.date(2025, 1, 1),
        days=1,
        breach_at=now - datetime.timedelta(days=60),
        claim_deadline=now - datetime.timedelta(days=30),
    )
    api = api_for(alice)
    with django_assert_max_num_queries(6) as captured:
        listing = api.get("/api/v1/credits/")
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))
    ]
    assert writes == []
    assert results(listing)[0]["status"] == "expired"
    assert api.get(f"/api/v1/credits/{lapsed.pk}/").json()["status"] == "expired"
    assert [c["id"] for c in results(api.get("/api/v1/credits/", {"status": "expired"}))] == [
        lapsed.pk
    ]
    assert results(api.get("/api/v1/credits/", {"status": "open"})) == []
    lapsed.refresh_from_db()
    assert lapsed.status == CreditStatus.OPEN  # the beat job writes it, not a GET
    assert api.post(f"/api/v1/credits/{lapsed.pk}/claim/").status_code in (400, 409)


def test_an_offset_no_clock_has_in_a_body_is_a_400_naming_the_field(charlie):
    body = {"started_at": "2026-03-01T00:00:00+16:29", "summary": "Outage"}
    response = api_for(charlie).post("/api/v1/incidents/", body)
    assert response.status_code == 400 and "started_at" in response.json()
