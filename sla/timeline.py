"""The SLA timeline: the public events one recomputation of a ticket's deadlines writes,
worded in English for the staff trail with parameters tickets.event_text translates."""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tickets.models import Ticket

from .calendars import REGIONS
from .models import Clock

# (action, English note, parameters) of one timeline event.
Event = tuple[str, str, dict[str, Any]]
PHASES = ("response", "resolution")


def format_moment(value: datetime.datetime | None, region: str | None) -> str:
    """A deadline as the region's staff and client read it: ``Mon 2 Mar 2026 11:00 GMT``."""
    if value is None:
        return "—"
    tz = REGIONS[region][0] if region in REGIONS else "UTC"
    local = value.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def format_duration(duration: datetime.timedelta, *, business: bool = False) -> str:
    """``2 h 10 min``, ``45 min``, ``3 days 4 h``; business days are 9 business hours."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return "less than 1 min"
    days, rest = divmod(minutes, (9 if business else 24) * 60)
    hours, mins = divmod(rest, 60)
    if days:
        unit = "business day" if business else "day"
        text = f"{days} {unit}{'s' if days != 1 else ''}"
        return f"{text} {hours} h" if hours else text
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def _hours_text(duration: datetime.timedelta) -> str:
    hours = duration.total_seconds() / 3600
    return f"{hours:g} clock hour{'s' if hours != 1 else ''}"


class Narrator:
    """Words the SLA timeline events of one recomputation (public: clients see them)."""

    def __init__(
        self,
        ticket: Ticket,
        before: dict[str, Any],
        previous: dict[str, Any],
        region: str | None,
    ) -> None:
        self.ticket, self.before, self.previous, self.region = ticket, before, previous, region
        self.out: list[Event] = []

    def say(self, action: str, note: str, **params: Any) -> None:
        """One event: the English note for the staff trail, and the parameters from which
        tickets.event_text words it in the reader's language (datetimes as ISO text)."""
        values: dict[str, Any] = {"v": 1}  # never empty: tells a worded row from one before
        for key, value in params.items():
            if value is not None:
                values[key] = value.isoformat() if isinstance(value, datetime.datetime) else value
        self.out.append((action, note, values))

    def due_params(self) -> dict[str, Any]:
        t = self.ticket
        return {
            "response_due": t.response_due_at,
            "resolution_due": t.resolution_due_at,
            "priority": t.priority,
        }

    def changed(self, name: str) -> bool:
        return bool(self.before[name] != getattr(self.ticket, name))

    def when(self, value: datetime.datetime | None) -> str:
        return format_moment(value, self.region)

    def events(self) -> list[Event]:
        t, prev = self.ticket, self.previous
        if t.excluded:
            if "excluded" in prev:
                self.say("excluded", f"excluded from SLA: {t.exclusion_reason}")
            return self.out
        if t.pk is None:
            self._opened()
        elif "excluded" in prev:
            self.say("included", "SLA applies again: " + self._deadlines(), **self.due_params())
        elif "priority" in prev and prev["priority"] != t.priority:
            note = f"re-classified {prev['priority']} → {t.priority}: {self._deadlines()}"
            self.say("reclassified", note, old_priority=prev["priority"], **self.due_params())
        else:
            self._progress()
        self._breaches()
        return self.out

    def _deadlines(self) -> str:
        t = self.ticket
        parts = []
        if t.response_due_at:
            parts.append(f"response due {self.when(t.response_due_at)}")
        if t.resolution_due_at:
            parts.append(f"resolution due {self.when(t.resolution_due_at)}")
        return ", ".join(parts) or f"no SLA target ({t.priority})"

    def _opened(self) -> None:
        t = self.ticket
        if t.response_due_at is None:
            self.say("no_target", f"no SLA target ({t.priority})", priority=t.priority)
        elif t.response_clock == Clock.CLOCK:
            length = t.response_due_at - t.received_at
            note = f"received outside business hours: {_hours_text(length)}, response due "
            self.say(
                "outside_hours",
                note + self.when(t.response_due_at),
                hours=length.total_seconds() / 3600,
                response_due=t.response_due_at,
            )
        else:
            note = f"clock started (business hours, region {self.region}), response due "
            self.say(
                "clock_started",
                note + self.when(t.response_due_at),
                region=self.region,
                response_due=t.response_due_at,
            )

    def _progress(self) -> None:
        t, prev = self.ticket, self.previous
        if "first_response_at" in prev and t.first_response_at:
            note = f"first response at {self.when(t.first_response_at)}"
            if t.resolution_due_at:
                note += f"; resolution clock started, due {self.when(t.resolution_due_at)}"
            self.say(
                "first_response",
                note,
                at=t.first_response_at,
                resolution_due=t.resolution_due_at,
            )
        if "paused_since" in prev:
            self._pause()
        elif self.changed("response_due_at") and t.response_due_at:
            note = f"response due {self.when(t.response_due_at)}"
            self.say("due_changed", note, response_due=t.response_due_at)
        elif self.changed("resolution_due_at") and self.before["resolution_due_at"]:
            note = f"resolution due {self.when(t.resolution_due_at)}"
            self.say("due_changed", note, resolution_due=t.resolution_due_at)
        if "resolved_at" in prev:
            self._resolved()

    def _pause(self) -> None:
        t = self.ticket
        if t.paused_since:
            self.say("paused", "resolution clock paused (pending customer)")
            return
        note = "resolution clock resumed"
        if t.resolution_due_at:
            note += f", resolution due {self.when(t.resolution_due_at)}"
        self.say("resumed", note, resolution_due=t.resolution_due_at)

    def _resolved(self) -> None:
        t = self.ticket
        if t.resolved_at is None:
            if t.resolution_due_at:
                note = f"reopened: resolution due {self.when(t.resolution_due_at)}"
                self.say("reopened", note, resolution_due=t.resolution_due_at)
            return
        due = t.resolution_due_at
        if due is None:
            return
        if t.resolved_at <= due:
            self.say("resolved", "resolved within target", late_minutes=0)
        else:
            late = format_duration(t.resolved_at - due)
            minutes = int((t.resolved_at - due).total_seconds() // 60)
            note = f"resolved {late} late (due {self.when(due)})"
            self.say("resolved", note, late_minutes=minutes, resolution_due=due)

    def _breaches(self) -> None:
        t = self.ticket
        for phase in PHASES:
            name = f"{phase}_breached_at"
            if getattr(t, name) and not self.before[name]:
                due = getattr(t, f"{phase}_due_at")
                note = f"{phase} breached (due {self.when(due)})"
                self.say(f"{phase}_breached", note, due=due)
