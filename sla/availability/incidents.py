"""Incidents: the staff's records of outages, bounded and revised with an audit trail."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from core.errors import ServiceError

from .models import Incident, IncidentRevision

INCIDENT_FIELDS = ("started_at", "ended_at", "summary")


# Incidents are bounded (issue 10): no year before 1970, and an incident still open (no end)
# may have started at most this long ago; an older outage needs its end, or it would zero
# every month's availability since.
INCIDENT_EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
INCIDENT_MAX_OPEN_DAYS = 31


def check_incident_times(
    started_at: datetime.datetime | None,
    ended_at: datetime.datetime | None,
    now: datetime.datetime | None = None,
) -> datetime.datetime:
    """Refuse an incident's times outside the bounds above (ServiceError naming the field);
    returns the start, known to be set."""
    now = now or timezone.now()
    if started_at is None:
        raise ServiceError(_("This field is required."), field="started_at")
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None and value < INCIDENT_EARLIEST:
            raise ServiceError(_("Give a time from 1970 on."), field=name)
    if started_at > now + datetime.timedelta(seconds=1):
        raise ServiceError(_("An incident cannot start in the future."), field="started_at")
    if ended_at is None:
        _check_still_open(started_at, now)
    else:
        _check_end(started_at, ended_at, now)
    return started_at


def _check_still_open(started_at: datetime.datetime, now: datetime.datetime) -> None:
    if started_at < now - datetime.timedelta(days=INCIDENT_MAX_OPEN_DAYS):
        raise ServiceError(
            _("An incident open for more than %(days)d days needs its end time.")
            % {"days": INCIDENT_MAX_OPEN_DAYS},
            field="ended_at",
        )


def _check_end(
    started_at: datetime.datetime, ended_at: datetime.datetime, now: datetime.datetime
) -> None:
    if ended_at < started_at:
        raise ServiceError(_("The end is before the start."), field="ended_at")
    if ended_at > now + datetime.timedelta(seconds=1):
        raise ServiceError(
            _("An incident cannot end in the future; leave the end empty while it lasts."),
            field="ended_at",
        )


def _snapshot(incident: Incident) -> dict[str, Any]:
    raw = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
    values: dict[str, Any] = {
        k: v.isoformat() if isinstance(v, datetime.datetime) else v for k, v in raw.items()
    }
    if incident.pk:
        values["organizations"] = sorted(incident.organizations.values_list("pk", flat=True))
    return values


@transaction.atomic
def record_incident(
    *,
    actor: User | None,
    started_at: datetime.datetime | None,
    summary: str,
    ended_at: datetime.datetime | None = None,
    organizations: Iterable[Organization | int] = (),
) -> Incident:
    now = timezone.now()
    started_at = check_incident_times(started_at, ended_at, now)
    if not (summary or "").strip():
        raise ServiceError(_("Describe the incident."), field="summary")
    incident = Incident.objects.create(
        started_at=started_at, ended_at=ended_at, summary=summary.strip(), created_by=actor
    )
    incident.organizations.set(organizations or ())
    after = _snapshot(incident)
    IncidentRevision.objects.create(
        incident=incident,
        at=now,
        actor=actor,
        action="created",
        changes={k: [None, v] for k, v in after.items()},
    )
    return incident


@transaction.atomic
def update_incident(
    incident: Incident,
    *,
    actor: User | None,
    organizations: Iterable[Organization | int] | None = None,
    **values: Any,
) -> Incident:
    """Edit an incident; one revision row with the fields before and after."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    before = _snapshot(incident)
    for name in INCIDENT_FIELDS:
        if name in values:
            setattr(incident, name, values[name])
    check_incident_times(incident.started_at, incident.ended_at, timezone.now())
    incident.save()
    if organizations is not None:
        incident.organizations.set(organizations)
    after = _snapshot(incident)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        action = "ended" if set(changes) == {"ended_at"} and incident.ended_at else "edited"
        IncidentRevision.objects.create(
            incident=incident, at=timezone.now(), actor=actor, action=action, changes=changes
        )
    return incident
