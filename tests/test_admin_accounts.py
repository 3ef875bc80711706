import pytest
from django.urls import reverse

from accounts.models import Organization, Plan, User
from tests.factories import ClientFactory, OrganizationFactory, StaffFactory, SuperuserFactory
from tests.test_admin_utils import admin_form_data

pytestmark = pytest.mark.django_db

USERS = reverse("admin:accounts_user_changelist")
ORGS = reverse("admin:accounts_organization_changelist")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(client, charlie):
    client.force_login(charlie)
    return client


def user_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


def listed(response):
    return set(response.context["cl"].result_list)


def test_staff_without_model_permissions_can_list_users_and_organizations(staff_client, alice, bob):
    assert staff_client.get(USERS).status_code == 200
    response = staff_client.get(ORGS)
    assert response.status_code == 200
    assert listed(response) >= {alice.organization, bob.organization}


def test_client_is_redirected_to_admin_login(client, alice):
    client.force_login(alice)
    response = client.get(USERS)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_role_filter_separates_staff_from_clients(staff_client, alice, bob, charlie):
    assert listed(staff_client.get(USERS, {"role": "client"})) == {alice, bob}
    assert listed(staff_client.get(USERS, {"role": "staff"})) == {charlie}


def test_organization_filter_and_search(staff_client, alice, bob):
    by_org = staff_client.get(USERS, {"organization__id__exact": bob.organization_id})
    assert listed(by_org) == {bob}
    assert listed(staff_client.get(USERS, {"q": "globex"})) == {bob}


def test_staff_cannot_make_themselves_superuser(staff_client, charlie):
    data = admin_form_data(
        staff_client.get(user_url(charlie)),
        is_superuser="on",
        is_staff="on",
        phone="+44 20 7946 0000",
    )
    response = staff_client.post(user_url(charlie), data)
    assert response.status_code == 302
    charlie.refresh_from_db()
    assert charlie.phone == "+44 20 7946 0000"  # the rest of the form was saved
    assert charlie.is_superuser is False


def test_staff_cannot_grant_staff_status_to_a_client(staff_client, alice):
    data = admin_form_data(staff_client.get(user_url(alice)), is_staff="on", phone="123")
    assert staff_client.post(user_url(alice), data).status_code == 302
    alice.refresh_from_db()
    assert (alice.phone, alice.is_staff) == ("123", False)


def test_staff_cannot_edit_a_superuser_or_reset_their_password(staff_client):
    root = SuperuserFactory(username="root")
    response = staff_client.post(user_url(root), {"username": "root", "email": "x@evil.example"})
    assert response.status_code == 403
    password_url = reverse("admin:auth_user_password_change", args=[root.pk])
    assert staff_client.get(password_url).status_code == 403
    root.refresh_from_db()
    assert root.email != "x@evil.example"


def test_superuser_can_promote_a_user_to_staff(client, alice):
    client.force_login(SuperuserFactory(username="root"))
    data = admin_form_data(client.get(user_url(alice)), is_staff="on")
    assert client.post(user_url(alice), data).status_code == 302
    alice.refresh_from_db()
    assert alice.is_staff is True


def test_staff_adds_a_client_who_must_belong_to_an_organization(staff_client, org):
    add = reverse("admin:accounts_user_add")
    base = {
        "username": "carol",
        "usable_password": "true",
        "password1": "a-Long-pass-123",
        "password2": "a-Long-pass-123",
        "email": "carol@acme.example",
    }
    response = staff_client.post(add, base)
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert staff_client.post(add, {**base, "organization": org.pk}).status_code == 302
    assert User.objects.get(username="carol").organization == org


def test_organization_autocomplete_serves_staff(staff_client, org, other_org):
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "acm",
            "app_label": "accounts",
            "model_name": "user",
            "field_name": "organization",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Acme"]


def test_organization_list_shows_region_plan_end_and_users(staff_client, org):
    ClientFactory.create_batch(3, organization=org)
    response = staff_client.get(ORGS, {"q": "Acme"})
    row = response.context["cl"].result_list[0]
    assert (row, row.users_count) == (org, 3)
    assert "GMT (London)" in response.text and "Dec. 31, 2026" in response.text


@pytest.mark.parametrize("count", [2, 20])
def test_organization_changelist_queries_do_not_grow(
    staff_client, django_assert_max_num_queries, count
):
    for org in OrganizationFactory.create_batch(count):
        ClientFactory(organization=org)
    with django_assert_max_num_queries(9):
        response = staff_client.get(ORGS)
    assert len(response.context["cl"].result_list) == count


def test_staff_creates_an_organization_with_its_contract(staff_client, charlie):
    manager = StaffFactory(username="csm")
    add = reverse("admin:accounts_organization_add")
    data = {
        "name": "Initech",
        "email_domains": '["initech.example"]',
        "language": "en",
        "contract-TOTAL_FORMS": "1",
        "contract-INITIAL_FORMS": "0",
        "contract-MIN_NUM_FORMS": "1",
        "contract-MAX_NUM_FORMS": "1",
        "contract-0-plan": Plan.objects.get(slug="platinum").pk,
        "contract-0-region": "US-EST",
        "contract-0-start_date": "2026-01-01",
        "contract-0-end_date": "2026-12-31",
        "contract-0-support_manager": manager.pk,
        "contract-0-account_manager": charlie.pk,
    }
    response = staff_client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    org = Organization.objects.get(name="Initech")
    assert (org.contract.region, org.contract.support_manager) == ("US-EST", manager)


def test_staff_cannot_delete_organizations(staff_client, org):
    url = reverse("admin:accounts_organization_delete", args=[org.pk])
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    assert Organization.objects.filter(pk=org.pk).exists()
