"""Sign in/out, password change and reset, login required, CSRF."""

import re

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"


def test_sign_in_page_renders_with_the_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b"eService" in response.content


def test_client_signs_in_and_lands_on_the_ticket_list(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert page.context["user"] == alice


def test_wrong_password_shows_an_error_and_does_not_sign_in(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not response.context["user"].is_authenticated


@pytest.mark.parametrize("path", ["/", "/tickets/new/", "/tickets/CS-000001/", "/attachments/1/"])
def test_portal_pages_redirect_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_sign_out_is_a_post_and_ends_the_session(client, alice):
    client.force_login(alice)
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_out_form_in_the_header_posts_with_a_csrf_token(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    form = re.search(r'<form action="/accounts/logout/" method="post">(.*?)</form>', html, re.S)
    assert form and "csrfmiddlewaretoken" in form.group(1)


def test_password_reset_emails_a_link_that_sets_a_new_password(client, alice):
    response = client.post("/accounts/password_reset/", {"email": alice.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "An0ther-Secret!", "new_password2": "An0ther-Secret!"}
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("An0ther-Secret!")


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_password_change_requires_the_old_password(client, alice):
    client.force_login(alice)
    new = {"new_password1": "N3w-Secret!x", "new_password2": "N3w-Secret!x"}
    bad = client.post("/accounts/password_change/", {"old_password": "wrong", **new})
    assert bad.status_code == 200
    assert "old_password" in bad.context["form"].errors
    good = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "N3w-Secret!x",
            "new_password2": "N3w-Secret!x",
        },
    )
    assert good.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("N3w-Secret!x")


def test_posting_a_new_anomaly_without_a_csrf_token_is_refused(alice):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post(
        "/tickets/new/",
        {"subject": "s", "feature": "other", "priority": "P2", "description": "d"},
    )
    assert response.status_code == 403
    assert not alice.organization.tickets.exists()


def test_staff_see_a_link_to_the_admin(client, charlie, alice):
    client.force_login(charlie)
    assert b'href="/admin/"' in client.get("/").content
    client.force_login(alice)
    assert b'href="/admin/"' not in client.get("/").content
