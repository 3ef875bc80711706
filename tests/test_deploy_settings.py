"""Settings for several hosts: the beat scheduler, sessions, the replica and the bucket follow
the environment; without it, one machine keeps the defaults."""

from tests.settings_probe import run_probe

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from portal.celery import app
app.loader.import_default_modules()  # what a worker does at start
print(json.dumps({
    "scheduler": str(app.conf.beat_scheduler),
    "redbeat_prefix": app.conf.get("redbeat_key_prefix"),
    "lock_timeout": app.conf.get("redbeat_lock_timeout"),
    "max_loop": app.conf.beat_max_loop_interval,
    "sessions": settings.SESSION_ENGINE,
    "databases": sorted(settings.DATABASES),
    "replica_host": settings.DATABASES.get("replica", {}).get("HOST"),
    "storage": settings.STORAGES["default"]["BACKEND"],
    "sweep_expires": app.conf.beat_schedule["sla-sweep"]["options"]["expires"],
    "beat": {name: {"task": e["task"], "schedule": e["schedule"], "options": e["options"],
                    "registered": e["task"] in app.tasks}
             for name, e in app.conf.beat_schedule.items()},
}))
"""
CONFIG_VARS = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_KEY_PREFIX",
    "MEDIA_STORAGE_URL",
    "ESCALATION_SWEEP_SECONDS",
    "IMAP_URL",
)


def probe(tmp_path, **env_vars) -> dict:
    return run_probe(PROBE, tmp_path, CONFIG_VARS, **env_vars)


def beat_schedule(tmp_path, **env_vars) -> dict:
    return probe(tmp_path, **env_vars)["beat"]


def test_every_beat_entry_names_a_registered_task_and_expires_before_its_next_run(tmp_path):
    schedule = beat_schedule(tmp_path, ESCALATION_SWEEP_SECONDS="2")
    assert {"sla-sweep", "notifications-redrive", "webhook-redrive", "mail-redrive-stored"} <= set(
        schedule
    )
    for name, entry in schedule.items():
        assert entry["registered"], name
        assert 0 < entry["options"]["expires"] < entry["schedule"] or entry["schedule"] <= 1, name
    assert schedule["sla-sweep"]["schedule"] == 2


def test_one_machine_keeps_the_default_beat_local_files_and_database_sessions(tmp_path):
    config = probe(tmp_path)
    assert config["scheduler"] == "celery.beat:PersistentScheduler"
    assert config["sessions"] == "django.contrib.sessions.backends.db"
    assert config["databases"] == ["default"]
    assert config["storage"] == "django.core.files.storage.FileSystemStorage"
    assert config["sweep_expires"] == 59


def test_a_redis_broker_brings_the_beat_lock_and_cached_sessions(tmp_path):
    config = probe(
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/0",
        CELERY_BROKER_KEY_PREFIX="site-a:",
        BEAT_LOCK_TIMEOUT_SECONDS="30",
    )
    assert config["scheduler"] == "portal.beat.Scheduler"
    assert config["redbeat_prefix"] == "site-a:redbeat:"
    assert config["lock_timeout"] == 30
    # Ticks renew the lock well within its timeout.
    assert config["max_loop"] <= 10
    assert config["sessions"] == "django.contrib.sessions.backends.cached_db"
    assert config["sweep_expires"] == 59


def test_replica_and_bucket_from_their_urls(tmp_path):
    config = probe(
        tmp_path,
        DATABASE_URL="postgres://u@primary.example:5432/eservice",
        DATABASE_REPLICA_URL="postgres://u@replica.example:5432/eservice",
        MEDIA_STORAGE_URL="s3://media?endpoint_url=http://s3.example:9000",
    )
    assert config["databases"] == ["default", "replica"]
    assert config["replica_host"] == "replica.example"
    assert config["storage"] == "storages.backends.s3.S3Storage"
