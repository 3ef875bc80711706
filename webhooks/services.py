"""Outbound webhooks: signed JSON posts to the endpoints staff register (SPEC section 7).

``emit()`` is the one entry point; the notifications fan-out calls it from inside the
transaction that records the domain event, so a delivery exists exactly when the change does.
"""

EVENTS = (
    "ticket.created",
    "ticket.updated",
    "comment.public",
    "ticket.escalated",
    "ticket.breached",
    "ticket.resolved",
    "credit.claimed",
)


def emit(event: str, *, ticket=None, comment=None, credit=None, changes=None, at=None) -> None:
    """Record one delivery per active endpoint subscribed to ``event`` (outbox rows written in
    the caller's transaction) and schedule their sending after commit.

    ``changes``: for ticket.updated, the fields that changed as {name: (old, new)}.
    Internal notes are never passed here. Not implemented yet: records nothing.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
