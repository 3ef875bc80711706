import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat schedule in code. Frequent entries expire so a backlog never replays stale sweeps.
app.conf.beat_schedule = {}


def register_beat(name: str, task: str, seconds: float, **options):
    """Each app adds its periodic jobs here from its AppConfig.ready()."""
    app.conf.beat_schedule[name] = {
        "task": task,
        "schedule": seconds,
        "options": {"expires": max(seconds - 1, 1), **options},
    }
