"""The public contact page: hours, phone lines, intake addresses, escalation contacts."""

import pytest

from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_contact_page_is_public_and_lists_hours_and_phone_lines(client, settings):
    response = client.get("/contact/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Monday–Friday 09:00–18:00" in html
    for region in ("GMT", "US EST", "US PST"):
        assert region in html
    for number in settings.SUPPORT_PHONE_NUMBERS.values():
        assert number in html


def test_intake_addresses_use_the_configured_domain(client, settings):
    settings.SUPPORT_EMAIL_DOMAIN = "help.example.org"
    html = client.get("/contact/").content.decode()
    assert "premier@help.example.org" in html
    assert "support@help.example.org" in html


def test_intake_domain_defaults_to_the_sender_address(client, settings):
    settings.DEFAULT_FROM_EMAIL = "Vendor Support <noreply@vendor.example>"
    html = client.get("/contact/").content.decode()
    assert "premier@vendor.example" in html


def test_escalation_levels_are_listed(client):
    html = client.get("/contact/").content.decode()
    assert "Customer Support Manager" in html
    assert "Customer Account Manager" in html
    assert "Worldwide Support Director" in html


def test_signed_in_client_sees_its_own_escalation_contacts(client, alice, bob):
    contract = alice.organization.contract
    contract.support_manager = StaffFactory(first_name="Claire", last_name="Martin")
    contract.account_manager = StaffFactory(first_name="Hugo", last_name="Bernard")
    contract.save()
    client.force_login(alice)
    html = client.get("/contact/").content.decode()
    assert "Claire Martin" in html and "Hugo Bernard" in html
    client.force_login(bob)
    html = client.get("/contact/").content.decode()
    assert "Claire Martin" not in html


def test_anonymous_visitors_see_no_names(client, alice):
    contract = alice.organization.contract
    contract.support_manager = StaffFactory(first_name="Claire", last_name="Martin")
    contract.save()
    assert "Claire Martin" not in client.get("/contact/").content.decode()
