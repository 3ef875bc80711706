from pathlib import Path

import pytest
from celery import Celery

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_dirs(settings):
    """The embedded filesystem broker (no REDIS_URL) publishes into folders that must exist."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def test_health_is_ok_when_database_and_broker_answer(client, broker_dirs):
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "mail_backlog": "ok",  # issue 10: stored mail waiting too long shows here
    }


def test_health_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    # Nothing listens on port 1. A separate app, so the shared one keeps its connection pool.
    unreachable = Celery("health-check", broker="redis://127.0.0.1:1/0", set_as_current=False)
    monkeypatch.setattr("portal.views.celery_app", unreachable)
    response = client.get("/health/")
    assert response.status_code == 503, response.content
    body = response.json()
    assert (body["status"], body["database"]) == ("error", "ok")
    assert body["broker"].startswith("error")
