"""The ticket lifecycle verbs of staff and clients: triage, diagnosis, resolution,
reopening, status moves, assignment, exclusion and detail edits."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError

from ..models import ACTIVE_STATUSES, Priority, Status, Ticket
from .changes import TicketChange, apply_reopen, check_past, lock, save_change

# Allowed status moves; reopening a closed ticket is staff-only (see reopen()).
TRANSITIONS = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED},
    Status.OPEN: {Status.PENDING, Status.RESOLVED},
    Status.PENDING: {Status.OPEN, Status.RESOLVED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}


@transaction.atomic
def triage(ticket, *, priority, actor) -> Ticket:
    """Staff classify the priority; the SLA engine recomputes deadlines from the original times."""
    if priority not in Priority.values:
        raise ServiceError(_("Priority must be one of P0, P1, P2, P3."), field="priority")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "triage", timezone.now())
    changed = change.set("priority", priority, action="reclassified")
    if ticket.triaged_at is None:
        change.set("triaged_at", change.at, public=False)
    if ticket.status == Status.NEW:
        change.set("status", Status.OPEN)
    if changed or change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def start_diagnosis(ticket, *, actor, at=None) -> Ticket:
    """The first level of response: a technician began diagnosing. Recorded once."""
    ticket = lock(ticket)
    _require_active(ticket)
    at = check_past(at, "at", not_before=ticket.received_at)
    change = TicketChange(ticket, actor, "start", at)
    if ticket.first_response_at is None:
        change.set("first_response_at", at, action="first_response")
    if ticket.assignee_id is None and actor and actor.is_staff:
        change.set("assignee", actor, public=False, action="assigned")
    if ticket.status == Status.NEW:
        change.set("status", Status.OPEN)
    if change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def resolve(ticket, *, actor, at=None, resolution="") -> Ticket:
    ticket = lock(ticket)
    _require_active(ticket)
    not_before = ticket.first_response_at or ticket.received_at
    at = check_past(at, "at", not_before=not_before)
    change = TicketChange(ticket, actor, "resolve", at)
    if ticket.first_response_at is None:
        change.set("first_response_at", at, action="first_response")
    change.set("status", Status.RESOLVED, action="resolved")
    change.set("resolved_at", at, action="resolved")
    if resolution:
        change.set("resolution", resolution)
    save_change(change)
    return ticket


def _require_active(ticket):
    if ticket.status not in ACTIVE_STATUSES:
        raise ServiceError(
            _("This ticket is %s.") % ticket.get_status_display().lower(), field="status"
        )


@transaction.atomic
def reopen(ticket, *, actor, reason="") -> Ticket:
    ticket = lock(ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ServiceError(_("Only a resolved or closed ticket can be reopened."), field="status")
    if ticket.status == Status.CLOSED and not actor.is_staff:
        raise ServiceError(_("This ticket is closed; please open a new one."), field="status")
    change = TicketChange(ticket, actor, "reopen", timezone.now())
    apply_reopen(change, reason)
    save_change(change)
    return ticket


@transaction.atomic
def set_status(ticket, *, status, actor) -> Ticket:
    """Generic move used by the admin form; the specific verbs above keep their side effects."""
    if status not in Status.values:
        raise ServiceError(_("Unknown status."), field="status")
    if status == Status.RESOLVED:
        return resolve(ticket, actor=actor)
    ticket = lock(ticket)
    if status == ticket.status:
        return ticket
    if status not in TRANSITIONS[ticket.status]:
        raise ServiceError(
            _("A %(old)s ticket cannot become %(new)s.")
            % {"old": ticket.get_status_display(), "new": Status(status).label},
            field="status",
        )
    change = TicketChange(ticket, actor, "status", timezone.now())
    if status == Status.OPEN and ticket.status in (Status.RESOLVED, Status.CLOSED):
        apply_reopen(change, "")
    else:
        change.set("status", status)
    if status == Status.CLOSED:
        change.set("closed_at", change.at, public=False)
    save_change(change)
    return ticket


@transaction.atomic
def assign(ticket, *, assignee, actor) -> Ticket:
    if assignee is not None and not assignee.is_staff:
        raise ServiceError(_("Only support staff can be assigned."), field="assignee")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "assign", timezone.now())
    if change.set("assignee", assignee, public=False, action="assigned"):
        save_change(change)
    return ticket


@transaction.atomic
def set_exclusion(ticket, *, excluded: bool, reason="", actor) -> Ticket:
    """Not an Anomaly under the contract (network, client change, unsupported browser)."""
    if excluded and not reason.strip():
        raise ServiceError(_("Say why the ticket is excluded."), field="reason")
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "exclusion", timezone.now())
    change.set("excluded", excluded, action="excluded" if excluded else "included")
    change.set("exclusion_reason", reason.strip() if excluded else "")
    if change.fields:
        save_change(change)
    return ticket


@transaction.atomic
def update_details(ticket, *, actor, **values) -> Ticket:
    """Subject, description and feature edits from the admin, audited like everything else."""
    ticket = lock(ticket)
    change = TicketChange(ticket, actor, "edit", timezone.now())
    for name in ("subject", "description", "feature"):
        if name in values:
            change.set(name, values[name], public=False)
    if change.fields:
        save_change(change)
    return ticket
