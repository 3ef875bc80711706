"""Styled 403/404/500/503 pages in English and French, with the site's navigation; the 500
and 503 pages render without the database."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.utils import translation

from portal import views


@pytest.fixture
def rf_request():
    request = RequestFactory().get("/tickets/CS-000001/")
    request.user = AnonymousUser()
    return request


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Page not found"), ("fr", "Page introuvable")]
)
def test_404_is_styled_with_navigation_in_both_languages(client, alice, language, heading):
    client.force_login(alice)
    client.cookies["django_language"] = language
    response = client.get("/tickets/CS-999999/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    html = response.content.decode()
    assert heading in html
    assert 'class="main-nav"' in html and 'href="/contact/"' in html
    assert f'<html lang="{language}">' in html


@pytest.mark.django_db
def test_api_404_stays_json(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_403_is_styled(rf_request):
    with translation.override("fr"):
        response = views.permission_denied(rf_request, PermissionDenied())
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()


@pytest.mark.parametrize(
    ("view", "status", "english", "french"),
    [
        (views.server_error, 500, "Something went wrong on our side", "Un problème est survenu"),
        (
            views.service_unavailable,
            503,
            "Service temporarily unavailable",
            "Service momentanément indisponible",
        ),
    ],
)
def test_500_and_503_need_no_database(rf_request, view, status, english, french):
    # No django_db mark: any query would fail the test.
    for language, text in (("en", english), ("fr", french)):
        with translation.override(language):
            response = view(rf_request)
        html = response.content.decode()
        assert response.status_code == status
        assert text in html
        assert 'class="main-nav"' in html and 'name="csrfmiddlewaretoken"' in html


def test_503_tells_when_to_retry_and_api_gets_json():
    request = RequestFactory().get("/api/v1/tickets/")
    response = views.service_unavailable(request, retry_after=30)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert json.loads(response.content) == {"detail": "Service temporarily unavailable."}
