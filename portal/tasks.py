"""Tasks of the portal itself: a ping to check that a worker consumes the broker."""

from pathlib import Path

from celery import shared_task


@shared_task(name="portal.tasks.ping")
def ping(path: str | None = None) -> str:
    """Answer "pong"; with a path, also write "pong" there so a caller can see it ran."""
    if path:
        Path(path).write_text("pong", encoding="utf-8")
    return "pong"
