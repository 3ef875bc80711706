"""``MEDIA_STORAGE_URL`` → Django's ``STORAGES["default"]``: local files or an S3 bucket.

``s3://bucket/prefix?endpoint_url=https://minio.example:9000&region_name=eu-west-1`` stores
uploads in ``bucket`` under ``prefix`` through django-storages; credentials come from the
usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the host's role. Files are
always served through the application, which checks the reader's organization first.
"""

from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
# Query parameters passed on to S3Storage as they are.
S3_OPTIONS = {"endpoint_url", "region_name", "signature_version", "addressing_style"}


def storage_from_url(url: str) -> dict:
    if not url:
        return LOCAL
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL must look like s3://bucket/prefix?endpoint_url=…, not {url!r}"
        )
    query = dict(parse_qsl(parts.query))
    unknown = set(query) - S3_OPTIONS
    if unknown:
        raise ImproperlyConfigured(f"MEDIA_STORAGE_URL: unknown option(s) {sorted(unknown)}")
    options = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        # Two uploads with one name never replace each other; objects stay private.
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
        **query,
    }
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
