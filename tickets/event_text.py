"""Audit and SLA timeline events as sentences in the reader's language and time zone.

Events are stored language-neutral: an action code, the field and its old/new values, and
`params` (deadlines, durations, codes). Rendering happens here, at read time, inside the
request's active language and time zone. `note` holds only what a person typed (a reason);
rows written before `params` existed fall back to their stored English note.
"""

import datetime
import functools

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext
from django.utils.translation import gettext as _

from .models import Channel, Priority, Status, TicketEvent

CHOICE_FIELDS = {
    "status": (Status, gettext_lazy("Status")),
    "priority": (Priority, gettext_lazy("Priority")),
}
# Fields already told by another event of the same change (e.g. "resolved" and the status).
QUIET_FIELDS = {"resolved_at", "closed_at", "triaged_at", "exclusion_reason", "resolution"}


def moment(value, zone=None) -> str:
    """`Tue 10 Mar 2026 10:00 GMT` in the active language and time zone (or `zone`)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return "—"
    # The format is translated: French wants the month's full name ("mars", not "Mar").
    pattern = pgettext("deadline date format", "D j M Y H:i T")
    local = timezone.localtime(value, zone)
    name = local.tzname()
    if not pattern.endswith(CLOCK_TIME) or not name:
        return formats.date_format(local, pattern)
    # Lists word a deadline per row: the day's words come once per day, the time is plain.
    day = _day(get_language(), pattern[: -len(CLOCK_TIME)], local.date())
    return f"{day} {local:%H:%M} {name}"


CLOCK_TIME = " H:i T"


@functools.lru_cache(maxsize=2048)
def _day(language: str, pattern: str, day: datetime.date) -> str:
    return formats.date_format(day, pattern)


def duration_text(minutes: int, *, business: bool = False) -> str:
    """`2 h 10 min`, `3 days 4 h`; business days are 9 business hours."""
    if minutes < 1:
        return _("less than 1 min")
    days, rest = divmod(minutes, (9 if business else 24) * 60)
    hours, mins = divmod(rest, 60)
    if days:
        if business:
            text = ngettext("%d business day", "%d business days", days) % days
        else:
            text = ngettext("%d day", "%d days", days) % days
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def describe(event: TicketEvent) -> str:
    """The sentence for one event; "" for an event another one of its change already tells."""
    if event.kind == TicketEvent.Kind.SLA:
        return describe_sla(event)
    text = specific_text(event)
    if text is not None:
        return text
    if event.note:
        return event.note
    if event.field in QUIET_FIELDS:
        return ""
    return event.action.replace("_", " ").capitalize()


def change_text(name, old, new) -> str:
    """`Status: New → Open`; French puts a space before the colon."""
    return _("%(field)s: %(old)s → %(new)s") % {"field": name, "old": old, "new": new}


def specific_text(event: TicketEvent) -> str | None:
    """The worded sentence of an audit event, or None when only a generic fallback fits."""
    if event.action == "confirmed":
        return _("The client confirmed the resolution; the ticket is closed.")
    if event.field in CHOICE_FIELDS:
        choices, name = CHOICE_FIELDS[event.field]
        labels = dict(choices.choices)
        old = labels.get(event.old_value, event.old_value or "—")
        return change_text(name, old, labels.get(event.new_value, event.new_value))
    return _audit_text(event)


def _audit_text(event: TicketEvent) -> str | None:
    action = event.action
    if action == "opened" and "channel" in (event.params or {}):
        return _opened_text(event.params["channel"])
    if action == "reopened" and not event.field:
        return _reopened_text(event)
    if action == "first_response":
        return _("Support started working on the ticket.")
    if event.field == "excluded":
        return _excluded_text(event.new_value == "True")
    if action == "escalated" and event.new_value:
        return escalation_text(event)
    return None


def _opened_text(channel: str) -> str:
    return _("Received via %s") % dict(Channel.choices).get(channel, channel)


def _reopened_text(event: TicketEvent) -> str:
    if (event.params or {}).get("cause") == "customer_replied":
        return _("Reopened: the customer replied.")
    reason = event.note.strip()
    return _("Reopened: %s") % reason if reason else _("Reopened.")


def _excluded_text(excluded: bool) -> str:
    if excluded:
        return _("Marked as outside the contract's SLA.")
    return _("The SLA applies again.")


def escalation_text(event: TicketEvent) -> str:
    """Requests keep the client's words; deadline escalations name the deadline."""
    params = event.params or {}
    level = {"level": event.new_value}
    if params.get("trigger") == "deadline":
        if params.get("phase") == "response":
            return _("Escalated to level %(level)s: the response deadline passed.") % level
        return _("Escalated to level %(level)s: the resolution deadline passed.") % level
    if params.get("trigger") == "request":
        reason = (params.get("reason") or "").strip()
        if reason:
            return _("Escalation to level %(level)s requested: %(reason)s") % {
                **level,
                "reason": reason,
            }
        return _("Escalation to level %(level)s requested.") % level
    return event.note or _("Escalated to level %(level)s.") % level


def _dues(params) -> str:
    parts = []
    if params.get("response_due"):
        parts.append(_("response due %s") % moment(params["response_due"]))
    if params.get("resolution_due"):
        parts.append(_("resolution due %s") % moment(params["resolution_due"]))
    return ", ".join(parts) or _("no SLA target (%s)") % params.get("priority", "")


def _outside_hours(p) -> str:
    hours = p.get("hours", 2)
    count = ngettext("%(n)s clock hour", "%(n)s clock hours", hours) % {"n": f"{hours:g}"}
    return _("received outside business hours: %(hours)s, response due %(due)s") % {
        "hours": count,
        "due": moment(p.get("response_due")),
    }


def _first_response(p) -> str:
    text = _("first response at %s") % moment(p.get("at"))
    if p.get("resolution_due"):
        text += "; " + _("resolution clock started, due %s") % moment(p["resolution_due"])
    return text


def _resolved(p) -> str:
    late = p.get("late_minutes", 0)
    if not late:
        return _("resolved within target")
    return _("resolved %(late)s late (due %(due)s)") % {
        "late": duration_text(late),
        "due": moment(p.get("resolution_due")),
    }


def _resumed(p) -> str:
    if p.get("resolution_due"):
        return _("resolution clock resumed, resolution due %s") % moment(p["resolution_due"])
    return _("resolution clock resumed")


SLA_TEXT = {
    "excluded": lambda p: _("excluded from SLA"),
    "included": lambda p: _("SLA applies again: %s") % _dues(p),
    "reclassified": lambda p: (
        _("re-classified %(old)s → %(new)s: %(dues)s")
        % {"old": p.get("old_priority", ""), "new": p.get("priority", ""), "dues": _dues(p)}
    ),
    "no_target": lambda p: _("no SLA target (%s)") % p.get("priority", ""),
    "outside_hours": _outside_hours,
    "clock_started": lambda p: (
        _("clock started (business hours, region %(region)s), response due %(due)s")
        % {"region": p.get("region", ""), "due": moment(p.get("response_due"))}
    ),
    "first_response": _first_response,
    "due_changed": lambda p: _dues(p),
    "paused": lambda p: _("resolution clock paused (pending customer)"),
    "resumed": _resumed,
    "reopened": lambda p: _("reopened: resolution due %s") % moment(p.get("resolution_due")),
    "resolved": _resolved,
    "response_breached": lambda p: _("response breached (due %s)") % moment(p.get("due")),
    "resolution_breached": lambda p: _("resolution breached (due %s)") % moment(p.get("due")),
}


def describe_sla(event: TicketEvent) -> str:
    """An SLA clock event. The sweep records breaches with the deadline in new_value."""
    params = dict(event.params or {})
    if event.action.endswith("_breached") and "due" not in params and event.new_value:
        params["due"] = event.new_value
    render = SLA_TEXT.get(event.action)
    if render is None or not params:  # an unknown code, or a row from before params
        return event.note or event.action
    return render(params)
