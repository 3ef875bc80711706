"""Watchers and preferences: the verbs the portal, the API, the admin and the mail intake
call."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError

from .models import CLIENT_CATEGORIES, STAFF_CATEGORIES, Notification, OptOut, Status, Watcher
from .recipients import is_client_of
from .tasks import queue_delivery


def _watchable_user(ticket, email: str):
    """The active client of the ticket's organization with this address, or None."""
    email = (email or "").strip()
    if not email:
        return None
    users = User.objects.filter(email__iexact=email, organization_id=ticket.organization_id)
    user = users.order_by("pk").first()
    return user if is_client_of(user, ticket.organization_id) else None


def add_watcher(ticket, *, email: str, actor) -> Watcher:
    """A client adds colleagues of its own organization, staff any client of the ticket's
    organization. Another organization's address, or an unknown one, is refused (400)."""
    user = _watchable_user(ticket, email)
    if user is None:
        raise ServiceError(
            _("This address is not a user of the ticket's organization."), field="email"
        )
    try:
        with transaction.atomic():
            return Watcher.objects.create(ticket=ticket, user=user, added_by=actor)
    except IntegrityError:
        return Watcher.objects.get(ticket=ticket, user=user)


def remove_watcher(ticket, watcher_id) -> bool:
    """False when the ticket has no such watcher (the API answers 404)."""
    deleted, _rows = Watcher.objects.filter(ticket=ticket, pk=watcher_id).delete()
    return bool(deleted)


def watch_cc(ticket, addresses) -> list[Watcher]:
    """An inbound mail's Cc: addresses of the ticket's organization become watchers; the
    others are ignored (and so never mailed)."""
    added = []
    for address in addresses:
        user = _watchable_user(ticket, address)
        if user is not None and user.pk != ticket.reporter_id:
            watcher, _created = Watcher.objects.get_or_create(ticket=ticket, user=user)
            added.append(watcher)
    return added


def categories_for(user) -> tuple:
    return STAFF_CATEGORIES if user.is_staff else CLIENT_CATEGORIES


def enabled_categories(user) -> set[str]:
    off = set(OptOut.objects.filter(email=user.email.lower()).values_list("category", flat=True))
    return {c.value for c in categories_for(user) if c.value not in off}


@transaction.atomic
def set_preferences(user, enabled) -> None:
    """Turn the user's categories on (listed in `enabled`) or off (the others)."""
    email = user.email.lower()
    wanted_off = {c.value for c in categories_for(user)} - set(enabled)
    OptOut.objects.filter(email=email).exclude(category__in=wanted_off).delete()
    for category in wanted_off:
        OptOut.objects.get_or_create(email=email, category=category)


def turn_off(email: str, category: str) -> None:
    """The one-click unsubscribe: idempotent."""
    OptOut.objects.get_or_create(email=email.lower(), category=category)


def retry(queryset) -> int:
    """The admin's retry: failed or pending rows become due now, with fresh attempts."""
    ids = list(
        queryset.exclude(status__in=[Status.SENT, Status.SENDING]).values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=ids).update(
        status=Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: queue_delivery(ids))
    return len(ids)
