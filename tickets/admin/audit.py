"""The audit trail in words: who did what, old → new in labels, times in the ticket's zone.

The sentences come from tickets.event_text, so a row reads in the agent's language whatever
language was active when it was written; only a person's own words (the note) stay as typed.
"""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import event_text
from tickets.models import Ticket

ACTIONS = {
    "opened": gettext_lazy("opened the ticket"),
    "first_response": gettext_lazy("gave the first response"),
    "reclassified": gettext_lazy("re-classified the priority"),
    "resolved": gettext_lazy("resolved the ticket"),
    "reopened": gettext_lazy("reopened the ticket"),
    "assigned": gettext_lazy("assigned the ticket"),
    "excluded": gettext_lazy("excluded the ticket from the SLA"),
    "included": gettext_lazy("made the SLA apply again"),
    "customer_replied": gettext_lazy("replied, so the ticket is open again"),
    "changed": gettext_lazy("changed the ticket"),
    "confirmed": gettext_lazy("confirmed the resolution"),
    "escalated": gettext_lazy("escalated the ticket"),
    "warning": gettext_lazy("warned before a deadline"),
    "created": gettext_lazy("created the ticket"),
}
MOMENT = "D j M Y, H:i T"


@dataclass(frozen=True)
class AuditLine:
    at: datetime.datetime
    who: str
    what: str
    detail: str
    note: str
    public: bool


def person(user) -> str:
    if user is None:
        return _("System")
    return user.get_full_name() or user.get_username()


def moment(value: datetime.datetime, tz) -> str:
    return formats.date_format(timezone.localtime(value, tz), MOMENT)


def _value(field, raw: str, tz) -> str:
    if raw == "":
        return "—"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(raw, raw))
    if raw in ("True", "False"):
        return _("yes") if raw == "True" else _("no")
    try:
        parsed = datetime.datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return moment(parsed, tz) if timezone.is_aware(parsed) else raw


def _field(name: str):
    try:
        return Ticket._meta.get_field(name)
    except FieldDoesNotExist:
        return None


# Fields that store a person by username: the trail shows the person's name.
PERSON_FIELDS = {"assignee", "reporter"}


def names(events) -> dict[str, str]:
    """username → name for the people the events' changes mention (one query, or none)."""
    usernames = {
        value
        for e in events
        if e.field in PERSON_FIELDS
        for value in (e.old_value, e.new_value)
        if value
    }
    if not usernames:
        return {}
    users = get_user_model().objects.filter(username__in=usernames)
    return {user.get_username(): person(user) for user in users}


def _field_detail(event, tz, people) -> str:
    field = _field(event.field)
    label = capfirst(field.verbose_name) if field is not None else event.field
    if event.field in PERSON_FIELDS:
        old = people.get(event.old_value, event.old_value) or "—"
        new = people.get(event.new_value, event.new_value) or "—"
    else:
        old = _value(field, event.old_value, tz)
        new = _value(field, event.new_value, tz)
    return event_text.change_text(label, old, new)


def describe(event, tz, people=None) -> AuditLine:
    with timezone.override(tz):
        sentence = event_text.specific_text(event)
    if sentence is None:
        sentence = _field_detail(event, tz, people or {}) if event.field else ""
    note = event.note
    if note and note.strip() in sentence:  # the sentence already quotes the reason
        note = ""
    action = ACTIONS.get(event.action, event.action.replace("_", " "))
    return AuditLine(event.at, person(event.actor), str(action), sentence, note, event.public)
