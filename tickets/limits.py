"""Flood limits on new tickets (spec 8): per user for the portal and the API, per sender
address for mail. Counted in the shared cache (core.ratelimit), so every process agrees.
Staff are not limited: they log calls for clients."""

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from core import ratelimit
from core.errors import ServiceError

WINDOW = 3600  # the limits are per hour


class TooManyTickets(ServiceError):
    status_code = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def check_new_ticket(user) -> None:
    """Count a ticket the user is about to open; raise TooManyTickets (429) over the limit."""
    if user.is_staff:
        return
    name = ratelimit.key("tickets-user", user.pk)
    limit = settings.TICKETS_PER_USER_PER_HOUR
    # Counted first: one cache call while under the limit, instead of a read then a count.
    # A refused attempt adds to a count that is over the limit until its window ends anyway.
    if ratelimit.count(name, WINDOW) <= limit:
        return
    left = ratelimit.wait_seconds(name, limit, WINDOW)
    if left:
        minutes = max(1, -(-left // 60))
        raise TooManyTickets(
            _("You have opened many tickets in the last hour; try again in %(minutes)d min.")
            % {"minutes": minutes},
            retry_after=left,
        )


def mail_sender_over_limit(address: str, message_pk: int) -> bool:
    """For a message that would open a ticket: True when its sender is over the hourly limit
    (the message is then quarantined, not lost). Counts each message once, however often the
    pipeline routes it (a batch may route a message twice)."""
    name = ratelimit.key("tickets-mail", address)
    if ratelimit.wait_seconds(name, settings.TICKETS_PER_SENDER_PER_HOUR, WINDOW):
        return True
    if cache.add(f"ratelimit:tickets-mail-counted:{message_pk}", 1, WINDOW):
        ratelimit.hit(name, WINDOW)
    return False
