"""What a client does with a ticket besides writing: opening it (the unread marker), confirming
a resolution, rating the support (CSAT), and the cool-down between such requests.

The portal views call these; staff verbs stay in tickets.services, whose change/event
machinery these reuse so every action lands in the audit trail.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.errors import ServiceError

from .models import SatisfactionRating, Status, Ticket, TicketEvent, TicketView
from .services import TicketChange, lock, save_change

# Requests a client makes that page or notify people; the cool-down spaces them out.
COOLED_ACTIONS = ("escalated", "reopened", "confirmed", "rated")


class CoolingDown(ServiceError):
    status_code = 429


def mark_viewed(user, ticket: Ticket, at: datetime.datetime | None = None) -> None:
    """Record that `user` has seen the ticket as it is now (one upsert)."""
    if not user.is_authenticated:
        return
    # One statement in autocommit, where update_or_create takes a transaction, a locking
    # SELECT and an UPDATE: the portal writes this on every ticket page a client opens.
    meta, qn = TicketView._meta, connection.ops.quote_name
    columns = {f.name: qn(f.column) for f in meta.concrete_fields if f.column}
    user_id, ticket_id, viewed_at = columns["user"], columns["ticket"], columns["viewed_at"]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({user_id}, {ticket_id}, {viewed_at}) "  # noqa: S608 - names from the model
        f"VALUES (%s, %s, %s) "
        f"ON CONFLICT ({user_id}, {ticket_id}) DO UPDATE SET {viewed_at} = EXCLUDED.{viewed_at}"
    )
    when = meta.get_field("viewed_at").get_db_prep_save(at or timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, ticket.pk, when])


def check_cooldown(user, ticket: Ticket, action: str, now: datetime.datetime | None = None) -> None:
    """Refuse a client's request made within CLIENT_ACTION_COOLDOWN_SECONDS of their previous
    request of the same kind on the same ticket (a double click, or a burst that would page
    people again); `action` is the audit code the request writes (COOLED_ACTIONS).

    Staff are never cooled down. The previous request is read from the audit trail, so every
    process sees the same answer without a shared cache.
    """
    seconds = settings.CLIENT_ACTION_COOLDOWN_SECONDS
    if user.is_staff or seconds <= 0:
        return
    now = now or timezone.now()
    since = now - datetime.timedelta(seconds=seconds)
    last = (
        TicketEvent.objects.filter(ticket=ticket, actor=user, action=action)
        .filter(at__gt=since)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last is None:
        return
    wait = max(int((last - since).total_seconds()), 1)
    raise CoolingDown(
        ngettext(
            "You just made a request on this ticket; please wait %(n)d second and try again.",
            "You just made a request on this ticket; please wait %(n)d seconds and try again.",
            wait,
        )
        % {"n": wait}
    )


def _require_member(user, ticket: Ticket) -> None:
    """The reporter or a colleague of the ticket's organization (staff act in the admin)."""
    if user.is_staff or user.organization_id != ticket.organization_id:
        raise ServiceError(_("Only the client organization can answer this."), field="ticket")


@transaction.atomic
def confirm_resolution(ticket: Ticket, *, actor) -> Ticket:
    """ "Is this solved?" — yes: the client accepts the resolution and the ticket closes."""
    _require_member(actor, ticket)
    ticket = lock(ticket)
    if ticket.status != Status.RESOLVED:
        raise ServiceError(_("Only a resolved ticket can be confirmed."), field="status")
    check_cooldown(actor, ticket, "confirmed")
    change = TicketChange(ticket, actor, "confirm", timezone.now())
    change.set("status", Status.CLOSED, action="confirmed")
    change.set("closed_at", change.at, public=False)
    save_change(change)
    return ticket


@transaction.atomic
def rate(ticket: Ticket, *, actor, rating, comment: str = "") -> SatisfactionRating:
    """Store the one CSAT answer of a resolved or closed ticket."""
    _require_member(actor, ticket)
    ticket = lock(ticket)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ServiceError(_("You can rate a ticket once it is resolved."), field="rating")
    score = _score(rating)
    check_cooldown(actor, ticket, "rated")
    if SatisfactionRating.objects.filter(ticket=ticket).exists():
        raise ServiceError(_("This ticket has already been rated."), field="rating")
    now = timezone.now()
    try:
        with transaction.atomic():
            answer = SatisfactionRating.objects.create(
                ticket=ticket,
                rating=score,
                comment=(comment or "").strip(),
                author=actor,
                created_at=now,
            )
    except IntegrityError as error:  # a colleague rated it a moment ago
        raise ServiceError(_("This ticket has already been rated."), field="rating") from error
    change = TicketChange(ticket, actor, "rate", now)
    change.event("rated", new=score, public=False)
    save_change(change)
    return answer


def _score(rating) -> int:
    try:
        score = int(rating)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ServiceError(_("Choose a rating from 1 to 5."), field="rating")
    return score
