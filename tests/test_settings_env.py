"""Configuration comes from the environment; the defaults need no server at all."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from portal.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "host": settings.DATABASES["default"].get("HOST", ""),
    "broker": settings.CELERY_BROKER_URL,
    "celery_broker": app.conf.broker_url,
    "media_root": str(settings.MEDIA_ROOT),
}))
"""

CONFIG_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "MEDIA_ROOT")


def probe(tmp_path, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", ESERVICE_VAR_DIR=str(tmp_path / "var"))
    env.update(env_vars)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_are_sqlite_and_the_filesystem_broker(tmp_path):
    config = probe(tmp_path)
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["name"] == str(tmp_path / "var" / "eservice.sqlite3")
    assert config["broker"].startswith("filesystem://")
    assert config["celery_broker"].startswith("filesystem://")
    assert config["media_root"] == str(tmp_path / "var" / "media")


def test_redis_url_becomes_the_broker(tmp_path):
    config = probe(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3")
    assert config["broker"] == "redis://127.0.0.1:6379/3"
    assert config["celery_broker"] == "redis://127.0.0.1:6379/3"


def test_celery_broker_url_wins_over_redis_url(tmp_path):
    config = probe(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/3",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/4",
    )
    assert config["celery_broker"] == "redis://127.0.0.1:6379/4"


def test_database_url_selects_postgresql(tmp_path):
    config = probe(tmp_path, DATABASE_URL="postgres://someone@db.example:5432/eservice_probe")
    assert config["engine"] == "django.db.backends.postgresql"
    assert (config["name"], config["host"]) == ("eservice_probe", "db.example")
