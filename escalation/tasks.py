"""Celery entry points, under their registered names; the work is in escalation.sweep,
escalation.services and escalation.paging."""

from celery import shared_task

from .paging import send_due_digests
from .services import notify_events, redrive_notices
from .sweep import sweep

__all__ = ["notify_events", "run_sweep", "send_page_digests"]


@shared_task(name="escalation.tasks.run_sweep")
def run_sweep() -> dict[str, int]:
    """Beat runs this every minute (entry "sla-sweep", portal.settings.tasks); it also
    writes the notices whose task was lost (escalation.services.redrive_notices)."""
    counts = sweep().counts()
    counts["notices_redriven"] = redrive_notices()
    return counts


@shared_task(name="escalation.tasks.send_page_digests")
def send_page_digests() -> int:
    """Beat, every minute: digests of the P0 pages coalesced per organization."""
    return send_due_digests()
