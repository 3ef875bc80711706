"""The domain event stream has one explicit, ordered list of consumers (portal.apps)."""

from escalation.receivers import page_oncall
from notifications.fanout import consume
from sla.availability.receivers import resolution_credits
from tickets import events, signals


def test_the_consumers_are_registered_once_in_order():
    assert events._consumers == [consume, resolution_credits, page_oncall]


def test_no_after_commit_signal_remains():
    assert not hasattr(signals, "ticket_changed")
