"""Uploads on an S3-compatible object store (MEDIA_STORAGE_URL), served through the app."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.storage_url import storage_from_url
from tests.s3_server import CREDENTIALS, S3Server
from tests.test_api_tickets import TICKETS, api_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3(tmp_path, settings, monkeypatch):
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with S3Server(tmp_path) as server:
        settings.STORAGES = {
            **settings.STORAGES,
            "default": storage_from_url(server.media_url),
        }
        yield server


@pytest.mark.integration
def test_an_upload_lands_in_the_bucket_and_is_served_only_to_its_organization(s3, alice, bob):
    upload = SimpleUploadedFile("trace.har", b'{"log": {}}', content_type="application/json")
    data = {"subject": "s", "description": "d", "attachments": [upload]}
    response = api_for(alice).post(TICKETS, data, format="multipart")
    assert response.status_code == 201, response.content
    [attachment] = response.json()["attachments"]

    stored = s3.objects()
    assert list(stored.values()) == [b'{"log": {}}']
    assert all(key.startswith("uploads/") for key in stored)

    download = api_for(alice).get(attachment["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b'{"log": {}}'
    # The bucket is private; the other organization's client gets nothing from the app.
    assert api_for(bob).get(attachment["download_url"]).status_code == 404


def test_without_the_setting_uploads_stay_local():
    assert storage_from_url("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_the_url_sets_bucket_prefix_and_endpoint():
    config = storage_from_url("s3://media/eservice?endpoint_url=http://s3.local:9000")
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == ("media", "eservice")
    assert options["endpoint_url"] == "http://s3.local:9000"
    assert options["querystring_auth"] is True
    assert options["default_acl"] is None


@pytest.mark.parametrize("url", ["ftp://media", "s3://", "s3://media?colour=blue"])
def test_a_wrong_url_is_refused_at_start_up(url):
    with pytest.raises(ImproperlyConfigured):
        storage_from_url(url)
