"""Bad input is a 4xx JSON answer, never a 500: odd types, huge numbers, broken bodies."""

import pytest

from tests.api_fixtures import api_for, api_test_settings, open_ticket  # noqa: F401

pytestmark = pytest.mark.django_db

HUGE = 10**30


@pytest.fixture
def ticket(alice):
    return open_ticket(alice)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/tickets/CS-{10**11}/",
        f"/api/v1/tickets/?organization={HUGE}",
        f"/api/v1/tickets/?assignee={HUGE}",
        "/api/v1/tickets/?page=0",
        f"/api/v1/tickets/?page={HUGE}",
        "/api/v1/tickets/?page_size=-1",
        "/api/v1/tickets/?ordering=password",
        "/api/v1/tickets/?received_after=0001-01-01T00:00:00%2B14:00",
        "/api/v1/tickets/?search=%00",
        f"/api/v1/organizations/{HUGE}/",
        f"/api/v1/users/{HUGE}/",
        f"/api/v1/attachments/{HUGE}/download/",
        "/api/v1/attachments/abc/",
    ],
)
def test_odd_query_or_path_is_a_client_error(charlie, path):
    response = api_for(charlie).get(path)
    assert response.status_code < 500
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("assign", {"assignee": HUGE}, "assignee"),
        ("assign", {"assignee": "charlie"}, "assignee"),
        ("start", {"at": "0001-01-01T00:00:00+14:00"}, "at"),
        ("start", {"at": "9999-12-31T23:59:59-14:00"}, "at"),
        ("start", {"at": ["2026-01-01T00:00:00+00:00"]}, "at"),
        ("resolve", {"resolution": {"a": 1}}, "resolution"),
        ("triage", {"priority": ["P0"]}, "priority"),
        ("exclude", {"excluded": "maybe", "reason": "x"}, "excluded"),
    ],
)
def test_odd_action_body_is_400_naming_the_field(charlie, ticket, action, data, field):
    response = api_for(charlie).post(f"/api/v1/tickets/{ticket.reference}/{action}/", data)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/api/v1/users/", {"organization": HUGE}, "organization"),
        ("/api/v1/tickets/", {"organization": HUGE}, "organization"),
        ("/api/v1/organizations/", {"email_domains": [{"a": 1}]}, "email_domains"),
        ("/api/v1/organizations/", {"start_date": "2026-02-30"}, "start_date"),
    ],
)
def test_odd_create_body_is_400_naming_the_field(charlie, path, data, field):
    response = api_for(charlie).post(path, data)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe not utf-8", "application/json"),
        (b"null", "application/json"),
        (b"42", "application/json"),
        (b"subject=s&description=d", "text/plain"),
        (b"--x\r\nbroken multipart", "multipart/form-data; boundary=x"),
    ],
)
def test_broken_request_body_is_a_4xx_json_error(alice, body, content_type):
    response = api_for(alice).generic("POST", "/api/v1/tickets/", body, content_type)
    assert 400 <= response.status_code < 500
    assert response.json()


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/tickets/CS-000001/nope/"])
def test_unknown_api_path_is_a_json_404(alice, path):
    response = api_for(alice).get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("priority", "p1", "P1"),
        ("feature", "Session Replay", "session_replay"),
        ("feature", "HEATMAPS", "heatmaps"),
    ],
)
def test_a_choice_may_be_given_by_its_label_in_any_case(alice, field, given, stored):
    body = {"subject": "s", "description": "d", field: given}
    response = api_for(alice).post("/api/v1/tickets/", body)
    assert response.status_code == 201, response.content
    assert response.json()[field] == stored


def test_an_unknown_choice_is_still_400_naming_the_field(alice):
    body = {"subject": "s", "description": "d", "priority": "P9"}
    response = api_for(alice).post("/api/v1/tickets/", body)
    assert response.status_code == 400 and "priority" in response.json()
