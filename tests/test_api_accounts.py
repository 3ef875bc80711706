import datetime

import pytest

from accounts.models import Organization, User
from tests.api_fixtures import api_for, api_test_settings  # noqa: F401
from tests.factories import ClientFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

ORG = {"name": "Initech", "region": "US-EST", "plan": "standard", "email_domains": ["@Initech.COM"]}


# -- token ------------------------------------------------------------------------------------


def test_token_for_good_credentials_authenticates_later_requests(alice):
    response = api_for().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "pw-Secret-123"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = api_for()
    me.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert me.get("/api/v1/users/me/").json()["username"] == "alice"


def test_token_refused_for_wrong_password_as_json_400(alice):
    response = api_for().post("/api/v1/auth/token/", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    assert "token" not in response.json()
    assert response.json()["non_field_errors"]


def test_token_request_without_password_names_the_field(alice):
    response = api_for().post("/api/v1/auth/token/", {"username": "alice"})
    assert response.status_code == 400
    assert "password" in response.json()


def test_token_endpoint_is_throttled(alice, settings):
    # Spec 8: a few failures per account (it was 30 a minute per process before).
    client = api_for()
    responses = [
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"})
        for _ in range(settings.SIGNIN_FAILURES_PER_ACCOUNT + 1)
    ]
    codes = [r.status_code for r in responses]
    assert codes == [400] * settings.SIGNIN_FAILURES_PER_ACCOUNT + [429]
    assert int(responses[-1]["Retry-After"]) > 0


def test_anonymous_request_is_refused_with_401():
    response = api_for().get("/api/v1/tickets/")
    assert response.status_code == 401
    assert "detail" in response.json()


# -- organizations ---------------------------------------------------------------------------


def test_staff_creates_organization_with_contract(charlie):
    response = api_for(charlie).post("/api/v1/organizations/", ORG)
    assert response.status_code == 201
    body = response.json()
    org = Organization.objects.get(pk=body["id"])
    assert (org.contract.region, org.contract.plan.slug) == ("US-EST", "standard")
    assert body["region"] == "US-EST"
    assert body["plan"] == "standard"
    assert body["email_domains"] == ["initech.com"]
    assert datetime.date.fromisoformat(body["end_date"]) > datetime.date.fromisoformat(
        body["start_date"]
    )


def test_organization_contract_dates_can_be_given(charlie):
    data = {**ORG, "start_date": "2026-02-01", "end_date": "2027-01-31"}
    body = api_for(charlie).post("/api/v1/organizations/", data).json()
    assert (body["start_date"], body["end_date"]) == ("2026-02-01", "2027-01-31")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("region", "EU-CET"),
        ("plan", "gold"),
        ("email_domains", "acme.example"),
        ("email_domains", ["not a domain"]),
        ("name", ""),
        ("end_date", "2020-01-01"),
    ],
)
def test_bad_organization_input_is_400_naming_the_field(charlie, field, value):
    data = {**ORG, "start_date": "2026-01-01", field: value}
    response = api_for(charlie).post("/api/v1/organizations/", data)
    assert response.status_code == 400
    assert field in response.json()
    assert not Organization.objects.filter(name="Initech").exists()


def test_contract_ending_before_today_without_a_start_is_400_naming_end_date(charlie):
    response = api_for(charlie).post("/api/v1/organizations/", {**ORG, "end_date": "2020-01-01"})
    assert response.status_code == 400
    assert "end_date" in response.json()


def test_organization_name_is_unique_regardless_of_case(charlie, org):
    response = api_for(charlie).post("/api/v1/organizations/", {**ORG, "name": "ACME"})
    assert response.status_code == 400
    assert "name" in response.json()


def test_client_cannot_create_organization(alice):
    response = api_for(alice).post("/api/v1/organizations/", ORG)
    assert response.status_code == 403
    assert not Organization.objects.filter(name="Initech").exists()


def test_client_lists_only_its_own_organization(alice, other_org):
    response = api_for(alice).get("/api/v1/organizations/")
    assert [row["name"] for row in response.json()["results"]] == ["Acme"]


def test_client_gets_404_for_another_organization(alice, other_org):
    response = api_for(alice).get(f"/api/v1/organizations/{other_org.pk}/")
    assert response.status_code == 404


def test_staff_lists_every_organization(charlie, org, other_org):
    rows = api_for(charlie).get("/api/v1/organizations/").json()["results"]
    names = [row["name"] for row in rows]
    assert names == ["Acme", "Globex"]


# -- users -------------------------------------------------------------------------------------


def user_data(org, **extra):
    return {
        "username": "dave",
        "email": "dave@acme.example",
        "password": "correct-Horse-42",
        "organization": org.pk,
        "role": "client",
        **extra,
    }


def test_staff_creates_client_who_can_then_log_in(charlie, org):
    response = api_for(charlie).post("/api/v1/users/", user_data(org))
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "client"
    assert body["organization"] == org.pk
    assert "password" not in body
    user = User.objects.get(pk=body["id"])
    assert user.check_password("correct-Horse-42")
    assert not user.is_staff


def test_a_superuser_creates_staff_without_organization(org):
    root = SuperuserFactory(username="root")
    body = api_for(root).post("/api/v1/users/", user_data(org, role="staff")).json()
    user = User.objects.get(pk=body["id"])
    assert user.is_staff
    assert user.organization is None
    assert body["role"] == "staff"


def test_a_staff_member_who_is_not_a_superuser_cannot_make_staff(charlie, org):
    # As in the admin (issue 10: the API allowed it).
    response = api_for(charlie).post("/api/v1/users/", user_data(org, role="staff"))
    assert response.status_code == 403 and "role" in response.json()
    assert not User.objects.filter(username="dave").exists()


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "dave@acme.example"])
def test_weak_password_is_400_naming_password(charlie, org, password):
    response = api_for(charlie).post("/api/v1/users/", user_data(org, password=password))
    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(username="dave").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "admin"),
        ("organization", 999999),
        ("organization", None),
        ("organization", "acme"),
        ("email", "not-an-email"),
        ("username", "has space"),
    ],
)
def test_bad_user_input_is_400_naming_the_field(charlie, org, field, value):
    response = api_for(charlie).post("/api/v1/users/", user_data(org, **{field: value}))
    assert response.status_code == 400
    assert field in response.json()


def test_duplicate_username_is_400_naming_username(charlie, org, alice):
    response = api_for(charlie).post("/api/v1/users/", user_data(org, username="ALICE"))
    assert response.status_code == 400
    assert "username" in response.json()


def test_client_cannot_create_users(alice, org):
    response = api_for(alice).post("/api/v1/users/", user_data(org))
    assert response.status_code == 403
    assert not User.objects.filter(username="dave").exists()


def test_client_sees_only_itself_in_user_list(alice, org):
    ClientFactory(username="carol", organization=org)
    rows = api_for(alice).get("/api/v1/users/").json()["results"]
    assert [row["username"] for row in rows] == ["alice"]


def test_org_admin_sees_its_colleagues_but_no_one_else(alice, bob, org):
    ClientFactory(username="carol", organization=org)
    alice.is_org_admin = True
    alice.save(update_fields=["is_org_admin"])
    rows = api_for(alice).get("/api/v1/users/").json()["results"]
    assert [row["username"] for row in rows] == ["alice", "carol"]
    assert api_for(alice).get(f"/api/v1/users/{bob.pk}/").status_code == 404


def test_user_output_never_contains_password_hashes(charlie, alice, bob):
    response = api_for(charlie).get("/api/v1/users/")
    assert response.status_code == 200
    assert "pbkdf2" not in response.content.decode()
    assert all("password" not in row for row in response.json()["results"])


def test_an_email_domain_belongs_to_one_organization(charlie, org):
    # Mail is routed to an organization by its sender's domain: two owners would be a coin toss.
    taken = org.email_domains[0]
    data = {"name": "Copycat", "region": "GMT", "plan": "platinum", "email_domains": [taken]}
    response = api_for(charlie).post("/api/v1/organizations/", data)
    assert response.status_code == 400
    assert "email_domains" in response.json()
    assert not Organization.objects.filter(name="Copycat").exists()
