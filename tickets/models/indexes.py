"""The ticket list indexes: one per list the portal, the API and the admin offer."""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q

from .choices import ACTIVE_STATUSES, Status

OPEN = Q(status__in=ACTIVE_STATUSES)
FINISHED = Q(status__in=(Status.RESOLVED, Status.CLOSED))

# One index per list the portal, the API and the admin offer (bench_lists prints the plans).
# Orderings end on the id, so each index ends on it too and serves both directions.
LIST_INDEXES = [
    # Everything newest first (admin, API, staff portal); per organization (client portal).
    models.Index(fields=["-received_at", "-id"], name="ticket_received_idx"),
    models.Index(fields=["organization", "-received_at", "-id"], name="ticket_org_received_idx"),
    # Filters on one column, still newest first: admin and API status/priority/assignee.
    models.Index(fields=["status", "-received_at", "-id"], name="ticket_status_recv_idx"),
    models.Index(fields=["priority", "-received_at", "-id"], name="ticket_prio_recv_idx"),
    models.Index(fields=["assignee", "-received_at", "-id"], name="ticket_assignee_recv_idx"),
    models.Index(fields=["channel", "-received_at", "-id"], name="ticket_channel_recv_idx"),
    models.Index(fields=["feature", "-received_at", "-id"], name="ticket_feature_recv_idx"),
    models.Index(
        fields=["-received_at", "-id"], name="ticket_excluded_recv_idx", condition=Q(excluded=True)
    ),
    # API ?ordering= and the admin's sortable columns.
    models.Index(fields=["response_due_at", "id"], name="ticket_response_due_idx"),
    models.Index(fields=["resolution_due_at", "id"], name="ticket_resolution_due_idx"),
    models.Index(fields=["priority", "id"], name="ticket_priority_idx"),
    # Open tickets only (the portal's default view, the desk's open queue, SLA filters).
    models.Index(fields=["-received_at", "-id"], name="ticket_open_recv_idx", condition=OPEN),
    models.Index(
        fields=["organization", "-received_at", "-id"], name="ticket_open_org_idx", condition=OPEN
    ),
    models.Index(fields=["response_due_at", "id"], name="ticket_open_resp_idx", condition=OPEN),
    models.Index(fields=["resolution_due_at", "id"], name="ticket_open_resol_idx", condition=OPEN),
    models.Index(
        fields=["priority", "-received_at", "-id"], name="ticket_open_prio_idx", condition=OPEN
    ),
    models.Index(
        fields=["assignee", "-received_at", "-id"], name="ticket_open_assignee_idx", condition=OPEN
    ),
    # Finished tickets per organization: the portal's "Resolved" tab, its list and its
    # capped count (without it, a count under LIMIT walks the table for a small client).
    models.Index(
        fields=["organization", "-received_at", "-id"],
        name="ticket_done_org_idx",
        condition=FINISHED,
    ),
    # Search (tickets.search): the full-text document and trigrams of the subject.
    GinIndex(fields=["search_vector"], name="ticket_search_idx"),
    GinIndex(fields=["subject"], opclasses=["gin_trgm_ops"], name="ticket_subject_trgm_idx"),
]
