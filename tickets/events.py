"""The one stream of domain events: what happened to a ticket (or a credit), in order.

Every write path ends in tickets.services.record(), which writes the audit rows
(TicketEvent) and then hands the same changes to the consumers registered here, inside the
same transaction. The project package registers them in a fixed order (portal.apps), so the
audit trail, the SLA timeline, notifications and webhooks all read one source and an outbox
row exists exactly when its change does.
"""

from dataclasses import dataclass
from typing import Any

_consumers: list = []


@dataclass
class CreditChange:
    """A service credit was created, claimed, granted or refused (sla.availability)."""

    credit: Any  # a sla.availability ServiceCredit (tickets does not import sla)
    action: str
    actor: object = None


@dataclass
class Notice:
    """A staff notice another app decided to send (escalation notices and warnings, on-call
    pages): kind names its template, recipients are (address, user or None) pairs."""

    kind: str
    ticket: object
    recipients: list
    data: dict


def register_consumer(consumer) -> None:
    """consumer(changes): called inside the writing transaction with TicketChange,
    CreditChange and Notice objects. Registering the same function twice keeps one."""
    if consumer not in _consumers:
        _consumers.append(consumer)


def publish(changes: list) -> None:
    for consumer in _consumers:
        consumer(changes)
