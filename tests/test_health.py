from pathlib import Path

import pytest

from portal.celery import app as celery_app

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
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    # Nothing listens on port 1: the broker check fails fast and the endpoint says so.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app.conf, "broker_write_url", None)
    monkeypatch.setattr(celery_app.conf, "broker_transport_options", {})
    response = client.get("/health/")
    assert response.status_code == 503, response.content
    body = response.json()
    assert (body["status"], body["database"]) == ("error", "ok")
    assert body["broker"].startswith("error")
    # The real broker is back once the override is undone.
    monkeypatch.undo()
    assert celery_app.conf.broker_url != "redis://127.0.0.1:1/0"
