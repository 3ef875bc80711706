"""Celery entry points; the work is in notifications.delivery."""

from celery import shared_task


@shared_task(
    name="notifications.tasks.deliver",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def deliver(ids) -> dict:
    """Send these outbox rows if still due. Safe to run twice: rows are claimed atomically."""
    from .delivery import deliver as run

    return vars(run(ids))


@shared_task(name="notifications.tasks.redrive")
def redrive() -> dict:
    """Beat: send whatever is due (rows whose task was lost, retries whose time came)."""
    from .delivery import deliver_due

    return vars(deliver_due())
