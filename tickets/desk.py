"""What the staff desk asks of the ticket table: the running deadline and the saved views.

Read by tickets.admin (ordering, the saved-view filter and its counts) and sla.admin (the
SLA column sorts on the same expression), so "most urgent" has one definition.
"""

import datetime

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ACTIVE_STATUSES, RUNNING, Priority, Status, Ticket, next_due

# The sidebar's counts are read on every desk page; a few seconds' lag is the price of not
# counting every active ticket on each of them (an agent's own bulk action drops it).
VIEW_COUNTS_SECONDS = 30


def by_urgency():
    """Sort key of the SLA column: the running deadline, no clock last."""
    return next_due().asc(nulls_last=True)


def most_urgent_first():
    return (by_urgency(), F("received_at").asc())


def due_between(start, end) -> Q:
    """Running tickets whose running deadline falls in [start, end)."""
    response = Q(first_response_at__isnull=True, response_due_at__gte=start)
    response &= Q(response_due_at__lt=end)
    resolution = Q(first_response_at__isnull=False, resolution_due_at__gte=start)
    resolution &= Q(resolution_due_at__lt=end)
    return RUNNING & (response | resolution)


# (key, label, predicate(user, now) -> Q). Every view is a subset of the active tickets,
# which lets view_counts() read only those through ticket_status_recv_idx.
SAVED_VIEWS = (
    ("mine", _("My open tickets"), lambda user, now: Q(assignee=user)),
    ("unassigned", _("Unassigned"), lambda user, now: Q(assignee__isnull=True)),
    (
        "breaching",
        _("Breaching within 1 h"),
        lambda user, now: due_between(now, now + datetime.timedelta(hours=1)),
    ),
    ("waiting", _("Waiting for the client"), lambda user, now: Q(status=Status.PENDING)),
    # A P0 received outside business hours runs on the 24/7 clock (the 2-clock-hour target).
    (
        "p0_ooh",
        _("P0 out of hours"),
        lambda user, now: Q(priority=Priority.P0, response_clock="clock"),
    ),
)
VIEW_KEYS = tuple(key for key, _label, _predicate in SAVED_VIEWS)


def view_filter(key: str, user, now=None) -> Q:
    now = now or timezone.now()
    for name, _label, predicate in SAVED_VIEWS:
        if name == key:
            return Q(status__in=ACTIVE_STATUSES) & predicate(user, now)
    raise KeyError(key)


def view_counts(user, now=None) -> dict[str, int]:
    """Every saved view's count in one query (one FILTER clause per view)."""
    now = now or timezone.now()
    counts = {
        key: Count("pk", filter=predicate(user, now)) for key, _label, predicate in SAVED_VIEWS
    }
    return Ticket.objects.filter(status__in=ACTIVE_STATUSES).aggregate(**counts)


def _counts_key(user) -> str:
    return f"desk:view-counts:{user.pk}"


def cached_view_counts(user) -> dict[str, int]:
    """view_counts(user), reused for VIEW_COUNTS_SECONDS."""
    counts = cache.get(_counts_key(user))
    if counts is None:
        counts = view_counts(user)
        cache.set(_counts_key(user), counts, VIEW_COUNTS_SECONDS)
    return counts


def forget_view_counts(user) -> None:
    cache.delete(_counts_key(user))
