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
    limit = MailSenderLimit()
    over = limit.over_limit(address, message_pk)
    limit.flush()
    return over


def _counted_key(message_pk: int) -> str:
    return f"ratelimit:tickets-mail-counted:{message_pk}"


class MailSenderLimit:
    """mail_sender_over_limit() for the messages of a batch: the senders' windows and the
    messages' marks (counted already) read at once with read(), decided here in order, the
    new hits and marks written at once by flush(). Until flush() nothing is counted: a batch
    that fails before it leaves the messages to be counted when they are processed again."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.read_pks: set[int] = set()
        self.counted: set[int] = set()
        self.new_hits: dict[str, int] = {}
        self.new_marks: list[int] = []

    def read(self, messages) -> None:
        """Read what is not known yet of these (address, message pk) pairs, in two round trips."""
        names = {ratelimit.key("tickets-mail", a) for a, _ in messages} - self.hits.keys()
        if names:
            self.hits.update(ratelimit.hits_many(names, WINDOW))
        pks = {pk for _, pk in messages} - self.read_pks
        if pks:
            found = cache.get_many([_counted_key(pk) for pk in pks])
            self.counted |= {pk for pk in pks if _counted_key(pk) in found}
            self.read_pks |= pks

    def over_limit(self, address: str, message_pk: int) -> bool:
        self.read([(address, message_pk)])
        name = ratelimit.key("tickets-mail", address)
        if self.hits[name] >= settings.TICKETS_PER_SENDER_PER_HOUR:
            return True
        if message_pk not in self.counted:
            self.counted.add(message_pk)
            self.new_marks.append(message_pk)
            self.hits[name] += 1
            self.new_hits[name] = self.new_hits.get(name, 0) + 1
        return False

    def flush(self) -> None:
        """Write the marks, then the hits (a mark without its hit undercounts one message
        if the second write fails; the other order would count it twice on a retry)."""
        if self.new_marks:
            cache.set_many({_counted_key(pk): 1 for pk in self.new_marks}, WINDOW)
        ratelimit.hit_many(self.new_hits, WINDOW)
        self.new_hits, self.new_marks = {}, []
