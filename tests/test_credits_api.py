"""REST API of incidents, availability and credits: field names (SPEC section 6), tenancy,
errors naming their field."""

import datetime

import pytest
import time_machine

from sla.availability.models import Incident, IncidentRevision, ServiceCredit
from tests.api_fixtures import api_for, results
from tickets import services as ticket_services

UTC = datetime.UTC


pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 4, 20, 10, tzinfo=UTC)


def t(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make_credit(org, **values):
    fields = {
        "organization": org,
        "kind": "availability",
        "month": datetime.date(2026, 3, 1),
        "days": 2,
        "breach_at": t(2026, 4, 1),
        "claim_deadline": t(2026, 5, 1),
        **values,
    }
    return ServiceCredit.objects.create(**fields)


# -- incidents -------------------------------------------------------------------------------


def test_staff_records_an_incident_and_its_history_starts(charlie):
    response = api_for(charlie).post(
        "/api/v1/incidents/",
        {"started_at": "2026-04-20T08:00:00+02:00", "summary": "Replay UI unreachable"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["started_at"] == "2026-04-20T06:00:00+00:00"
    assert (body["ended_at"], body["summary"], body["ongoing"]) == (
        None,
        "Replay UI unreachable",
        True,
    )
    incident = Incident.objects.get(pk=body["id"])
    assert incident.created_by == charlie
    assert IncidentRevision.objects.get(incident=incident).action == "created"


def test_editing_an_incident_keeps_a_revision_with_old_and_new_values(charlie):
    api = api_for(charlie)
    pk = api.post(
        "/api/v1/incidents/", {"started_at": "2026-04-20T06:00:00Z", "summary": "Down"}
    ).json()["id"]
    response = api.patch(f"/api/v1/incidents/{pk}/", {"ended_at": "2026-04-20T07:30:00Z"})
    assert response.status_code == 200, response.json()
    revision = IncidentRevision.objects.filter(incident_id=pk).last()
    assert revision.action == "ended"
    assert revision.changes == {"ended_at": [None, "2026-04-20T07:30:00+00:00"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"started_at": "2026-04-20T06:00:00Z", "ended_at": "2026-04-20T05:00:00Z"},
            "ended_at",
        ),
        ({"started_at": "2026-04-21T06:00:00Z"}, "started_at"),  # tomorrow
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_bad_incident_times_are_400_naming_the_field(charlie, body, field):
    response = api_for(charlie).post("/api/v1/incidents/", {"summary": "Down", **body})
    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()


def test_clients_read_incidents_affecting_them_but_cannot_write(alice, bob, org, other_org):
    everyone = Incident.objects.create(started_at=t(2026, 4, 1), summary="All down")
    theirs = Incident.objects.create(started_at=t(2026, 4, 2), summary="Globex only")
    theirs.organizations.set([other_org])
    mine = Incident.objects.create(started_at=t(2026, 4, 3), summary="Acme only")
    mine.organizations.set([org])

    listed = {row["id"] for row in results(api_for(alice).get("/api/v1/incidents/"))}
    assert listed == {everyone.pk, mine.pk}
    assert api_for(alice).get(f"/api/v1/incidents/{theirs.pk}/").status_code == 404
    assert "organizations" not in api_for(alice).get(f"/api/v1/incidents/{mine.pk}/").json()
    denied = api_for(alice).post(
        "/api/v1/incidents/", {"started_at": "2026-04-20T06:00:00Z", "summary": "x"}
    )
    assert denied.status_code == 403
    assert api_for().get("/api/v1/incidents/").status_code == 401


# -- availability ----------------------------------------------------------------------------


def test_availability_has_exactly_the_documented_fields(alice):
    response = api_for(alice).get("/api/v1/availability/?month=2026-03")
    assert response.status_code == 200
    assert response.json() == {
        "month": "2026-03",
        "availability_percent": 100.0,
        "downtime_minutes": 0.0,
        "eligible_minutes": 40320.0,  # 44,640 − 9 weekend windows × 480 (see month tests)
        "excluded_minutes": 4320.0,
        "target_percent": 99.5,
        "credits": 0,
    }


@pytest.mark.parametrize("month", ["2026-3", "2026-13", "march", "", "2026-03-01"])
def test_bad_month_is_400_naming_month(alice, month):
    response = api_for(alice).get(f"/api/v1/availability/?month={month}")
    assert response.status_code == 400
    assert "month" in response.json()


def test_a_future_month_is_400_and_the_current_month_is_measured_to_now(alice):
    assert api_for(alice).get("/api/v1/availability/?month=2026-05").status_code == 400
    body = api_for(alice).get("/api/v1/availability/?month=2026-04").json()
    # 1–20 April 10:00 = 19 d 10 h = 27,960 min; windows on 4, 5, 11, 12, 18, 19 = 2,880 min
    assert (body["eligible_minutes"], body["excluded_minutes"]) == (25080.0, 2880.0)


def test_clients_see_their_org_and_staff_choose_one_or_get_the_global_figure(
    alice, charlie, other_org
):
    incident = Incident.objects.create(
        started_at=t(2026, 3, 3, 10), ended_at=t(2026, 3, 3, 11), summary="Globex down"
    )
    incident.organizations.set([other_org])
    url = "/api/v1/availability/?month=2026-03"
    assert api_for(alice).get(url).json()["downtime_minutes"] == 0.0
    # a client cannot peek at another organization: the parameter is ignored
    assert api_for(alice).get(f"{url}&organization={other_org.pk}").json()["downtime_minutes"] == (
        0.0
    )
    assert api_for(charlie).get(f"{url}&organization={other_org.pk}").json()[
        "downtime_minutes"
    ] == (60.0)
    assert api_for(charlie).get(url).json()["downtime_minutes"] == 0.0
    assert api_for(charlie).get(f"{url}&organization=abc").status_code == 400
    assert api_for(charlie).get(f"{url}&organization=999999").status_code == 404


# -- credits ---------------------------------------------------------------------------------


def test_credit_representation_has_the_documented_fields(alice, org):
    credit = make_credit(org)
    row = api_for(alice).get(f"/api/v1/credits/{credit.pk}/").json()
    assert {
        k: row[k]
        for k in (
            "id",
            "kind",
            "ticket",
            "month",
            "days",
            "status",
            "breach_at",
            "claim_deadline",
        )
    } == {
        "id": credit.pk,
        "kind": "availability",
        "ticket": None,
        "month": "2026-03",
        "days": 2,
        "status": "open",
        "breach_at": "2026-04-01T00:00:00+00:00",
        "claim_deadline": "2026-05-01T00:00:00+00:00",
    }


def test_credit_list_shows_own_organization_only_and_staff_filter(
    alice, bob, charlie, org, other_org, django_assert_max_num_queries
):
    mine = make_credit(org)
    older = make_credit(org, month=datetime.date(2026, 2, 1), breach_at=t(2026, 3, 1))
    theirs = make_credit(other_org)
    api = api_for(alice)
    with django_assert_max_num_queries(4):  # token+user, count, page: no query per credit
        listed = results(api.get("/api/v1/credits/"))
    assert [row["id"] for row in listed] == [mine.pk, older.pk]
    assert {row["id"] for row in results(api_for(charlie).get("/api/v1/credits/"))} == {
        mine.pk,
        older.pk,
        theirs.pk,
    }
    filtered = api_for(charlie).get(f"/api/v1/credits/?organization={other_org.pk}")
    assert [row["id"] for row in results(filtered)] == [theirs.pk]


def test_another_organizations_credit_is_404_to_read_and_to_claim(bob, org):
    credit = make_credit(org)
    assert api_for(bob).get(f"/api/v1/credits/{credit.pk}/").status_code == 404
    assert api_for(bob).post(f"/api/v1/credits/{credit.pk}/claim/").status_code == 404
    credit.refresh_from_db()
    assert credit.status == "open"


def test_claim_then_claim_again_is_409(alice, org):
    credit = make_credit(org)
    response = api_for(alice).post(f"/api/v1/credits/{credit.pk}/claim/")
    assert response.status_code == 200
    assert response.json()["status"] == "claimed"
    again = api_for(alice).post(f"/api/v1/credits/{credit.pk}/claim/")
    assert again.status_code == 409
    assert "status" in again.json()


def test_claim_after_the_window_is_400_with_a_clear_message(alice, org):
    credit = make_credit(org, breach_at=t(2026, 3, 1), claim_deadline=t(2026, 3, 31))
    response = api_for(alice).post(f"/api/v1/credits/{credit.pk}/claim/")
    assert response.status_code == 400
    assert response.json() == {
        "claim_deadline": ["The 30-day claim window closed on 2026-03-31 00:00 UTC."]
    }


def test_staff_grant_through_the_api_and_clients_cannot(alice, charlie, org):
    credit = make_credit(org)
    api_for(alice).post(f"/api/v1/credits/{credit.pk}/claim/")
    assert api_for(alice).post(f"/api/v1/credits/{credit.pk}/grant/").status_code == 403
    response = api_for(charlie).post(f"/api/v1/credits/{credit.pk}/grant/", {"note": "ok"})
    assert response.status_code == 200 and response.json()["status"] == "granted"
    org.contract.refresh_from_db()
    assert org.contract.end_date == datetime.date(2027, 1, 2)  # 2026-12-31 + 2 days


def test_resolving_a_late_ticket_through_the_ticket_services_creates_the_credit(
    alice, charlie, django_capture_on_commit_callbacks
):
    """End to end with the SLA engine: the deadline it computes is the one credited."""
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject="Heatmaps blank",
            description="Nothing renders.",
            priority="P1",
            received_at=t(2026, 3, 2, 10),
        )
        ticket_services.triage(ticket, priority="P1", actor=charlie)
        ticket_services.start_diagnosis(ticket, actor=charlie, at=t(2026, 3, 2, 11))
        ticket_services.resolve(ticket, actor=charlie, at=t(2026, 4, 15, 12))
    ticket.refresh_from_db()
    # P1 Platinum: 10 business days = 90 business hours from the first response, Monday
    # 2 March 11:00 London (= UTC before 29 March): 7 h that day + 9 days × 9 h (3–13 March)
    # + 2 h → Monday 16 March 11:00. Resolved 15 April 12:00: 30 days 1 hour late → 31.
    assert ticket.resolution_due_at == t(2026, 3, 16, 11)
    row = results(api_for(alice).get("/api/v1/credits/"))[0]
    assert (row["kind"], row["ticket"], row["days"]) == ("resolution", ticket.reference, 31)
    assert row["breach_at"] == "2026-04-15T12:00:00+00:00"
    assert row["claim_deadline"] == "2026-05-15T12:00:00+00:00"
