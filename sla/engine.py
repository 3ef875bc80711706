"""The SLA engine's public names, in one place for the apps that use them.

Used by tickets (through the ``ticket_changing`` receiver wired in the project package), by
escalation, the portal, the admin and the ``recompute_deadlines`` command:

- :func:`calendar_for_region` -- the business calendar of a support region (calendar_cache);
- :func:`compute_deadlines`, :func:`on_ticket_changing` -- stored deadlines (deadlines);
- :func:`current_target` -- the running :class:`SlaTarget` of a ticket, if any (targets);
- :func:`recompute_active` -- recompute stored deadlines after a calendar change (recompute).
"""

from .calendar_cache import (
    calendar_for_region,
    connect_calendar_signals,
    invalidate_calendars,
    invalidate_targets,
)
from .deadlines import SLA_FIELDS, compute_deadlines, on_ticket_changing
from .recompute import RecomputeResult, count_active, recompute_active
from .targets import SlaTarget, current_target
from .timeline import format_duration, format_moment

__all__ = [
    "SLA_FIELDS",
    "RecomputeResult",
    "SlaTarget",
    "calendar_for_region",
    "compute_deadlines",
    "connect_calendar_signals",
    "count_active",
    "current_target",
    "format_duration",
    "format_moment",
    "invalidate_calendars",
    "invalidate_targets",
    "on_ticket_changing",
    "recompute_active",
]
