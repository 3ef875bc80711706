"""Beat jobs: thin wrappers around the services, each safe to run twice."""

from celery import shared_task
from django.utils import timezone

from . import services, statement_mail


@shared_task(name="availability.expire_credits")
def expire_credits() -> int:
    return services.expire_credits()


@shared_task(name="availability.close_previous_month")
def close_previous_month() -> int:
    """At any time after a month ends, its availability credits exist (created once)."""
    month = services.previous_month(services.current_month())
    return len(services.close_month(month))


@shared_task(name="availability.send_statements")
def send_statements() -> int:
    """On the first business day of the month, email last month's statement (once per org)."""
    return statement_mail.send_due_statements(timezone.now())
