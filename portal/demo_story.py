"""The demo's tickets as a story played in time order, so the data never contradicts itself.

Each step is (moment, action). `Story.play()` runs the steps oldest first with the clock set
to the step's moment, and before each one runs the SLA sweep at every moment something fell
due since the last step. So every event carries its story time and its real actor, breaches
and escalations happen exactly where a deadline was missed, and nothing is left due at the
end: starting beat afterwards pages no one about old tickets.
"""

import contextlib
import datetime
from dataclasses import dataclass, field
from functools import partial

from django.db.models import Min
from django.utils import timezone

from escalation.models import EscalationEvent
from escalation.sweep import sweep
from tickets.models import Ticket


@contextlib.contextmanager
def clock(moment: datetime.datetime):
    """Run services "at" `moment`: they and auto_now fields read django.utils.timezone.now.
    Demo seeding only; the product itself never moves time."""
    real_now = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real_now


@dataclass
class Story:
    now: datetime.datetime
    steps: list = field(default_factory=list)
    tickets: dict = field(default_factory=dict)  # story key -> ticket pk

    def at(self, moment: datetime.datetime, action, *args, **kwargs) -> None:
        moment = min(moment, self.now - datetime.timedelta(minutes=1))
        self.steps.append((moment, len(self.steps), partial(action, *args, **kwargs)))

    def ticket(self, key: str) -> Ticket:
        """A fresh copy: the sweep may have moved the row since the step that made it."""
        return Ticket.objects.select_related("organization__contract").get(pk=self.tickets[key])

    def keep(self, key: str, ticket: Ticket) -> Ticket:
        self.tickets[key] = ticket.pk
        return ticket

    def play(self) -> None:
        for moment, _order, action in sorted(self.steps, key=lambda s: (s[0], s[1])):
            self._sweep_until(moment)
            with clock(moment):
                action()
        self._sweep_until(self.now)
        self._history_was_notified()

    def _sweep_until(self, moment) -> None:
        """Sweep at each moment a check fell due up to `moment`, as beat would have."""
        last = None
        while True:
            due = Ticket.objects.aggregate(first=Min("next_check_at"))["first"]
            if due is None or due > moment:
                return
            if due == last:  # the sweep always moves a checked ticket on; never spin
                raise RuntimeError(f"demo sweep stuck at {due}")
            with clock(due):
                sweep(now=due)
            last = due

    @staticmethod
    def _history_was_notified() -> None:
        """The story's escalations are history: their contacts heard at the time. Marked so
        the queued notification tasks, which skip notified events, send nothing now."""
        for event in EscalationEvent.objects.filter(notified_at__isnull=True):
            event.notified_at = event.fired_at
            event.save(update_fields=["notified_at"])
