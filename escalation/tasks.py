"""Celery entry points; the work is in escalation.sweep and escalation.services."""

from celery import shared_task
from django.db import transaction

from .models import EscalationEvent


@shared_task(name="escalation.tasks.run_sweep")
def run_sweep() -> dict:
    """Beat runs this every minute (entry "sla-sweep", registered in escalation.apps)."""
    from .sweep import sweep

    return sweep().counts()


@shared_task(name="escalation.tasks.notify_events")
def notify_events(ids) -> int:
    """Record the notices of these escalation events if not yet done. Safe to run twice
    (acks_late retries, two sweeps): rows are locked and an event with notified_at is
    skipped."""
    from .services import notify

    with transaction.atomic():
        events = list(
            EscalationEvent.objects.filter(pk__in=ids, notified_at__isnull=True)
            .select_related(
                "ticket__assignee",
                "ticket__organization__contract__support_manager",
                "ticket__organization__contract__account_manager",
            )
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("ticket_id", "level")
        )
        return notify(events)


@shared_task(name="escalation.tasks.send_page_digests")
def send_page_digests() -> int:
    """Beat, every minute: digests of the P0 pages coalesced per organization."""
    from .paging import send_due_digests

    return send_due_digests()
