"""Configuration comes from the environment; the defaults need no server at all."""

from tests.settings_probe import run_probe

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


SQLITE_WRITERS = """
import json, threading, time
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as c:
    c.execute("CREATE TABLE counter (n integer)")
    c.execute("INSERT INTO counter VALUES (0)")
connection.close()
holding, errors = threading.Event(), []

def beat_writes():
    with transaction.atomic():
        with connection.cursor() as c:
            c.execute("UPDATE counter SET n = n + 1")
        holding.set()
        time.sleep(1)  # the worker's transaction starts meanwhile
    connection.close()

def worker_reads_then_writes():
    holding.wait()
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute("SELECT n FROM counter")
                c.execute("UPDATE counter SET n = n + 1")
    except Exception as exc:
        errors.append(str(exc))
    connection.close()

threads = [threading.Thread(target=beat_writes), threading.Thread(target=worker_reads_then_writes)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as c:
    c.execute("SELECT n FROM counter")
    print(json.dumps({"errors": errors, "n": c.fetchone()[0]}))
"""


def probe(tmp_path, script=PROBE, **env_vars):
    return run_probe(script, tmp_path, CONFIG_VARS, **env_vars)


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


def test_sqlite_writers_wait_for_each_other_instead_of_failing(tmp_path):
    # make run's worker and beat both write to the default SQLite file: a transaction that
    # reads before it writes must queue behind the other writer, not fail "database is locked".
    result = probe(tmp_path, script=SQLITE_WRITERS)
    assert result == {"errors": [], "n": 2}
