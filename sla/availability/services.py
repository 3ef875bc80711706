"""Availability figures and the verbs on incidents and service credits.

Portal views, the API, admin actions, beat tasks and management commands all call these;
none re-implements a rule. Pure arithmetic is in `intervals.py`.
"""

from __future__ import annotations

import datetime
import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Contract, Organization
from core.errors import Conflict, ServiceError
from core.replica import on_replica
from tickets import events
from tickets.models import Priority, Ticket

from . import intervals
from .models import (
    CLAIM_WINDOW,
    ContractChange,
    CreditKind,
    CreditStatus,
    ForceMajeurePeriod,
    Incident,
    IncidentRevision,
    MaintenanceWindow,
    PlannedInterruption,
    ServiceCredit,
)

log = logging.getLogger(__name__)

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
CREDIT_PRIORITIES = (Priority.P0, Priority.P1, Priority.P2)


# -- months --------------------------------------------------------------------------------


def parse_month(value: str | None, *, field: str = "month") -> datetime.date:
    match = MONTH_RE.match((value or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise ServiceError(_("Give the month as YYYY-MM, e.g. 2026-03."), field=field)
    if int(match.group(1)) > 9998:  # its end (next month, UTC) would overflow a datetime
        raise ServiceError(_("This month has not started yet."), field=field)
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


def current_month(now=None) -> datetime.date:
    now = (now or timezone.now()).astimezone(datetime.UTC)
    return datetime.date(now.year, now.month, 1)


def previous_month(month: datetime.date) -> datetime.date:
    return (month - datetime.timedelta(days=1)).replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def last_months(count: int, now=None) -> list[datetime.date]:
    """The `count` months ending with the current one, oldest first."""
    months = [current_month(now)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


# -- availability --------------------------------------------------------------------------


def unavailability_intervals(organization, lo, hi) -> list[intervals.Interval]:
    """Maintenance windows, planned interruptions announced in advance, force majeure."""
    periods = []
    for window in MaintenanceWindow.objects.affecting(organization).filter(active=True):
        periods += intervals.weekly_occurrences(
            window.weekday, window.start_time, window.end_time, window.utc_offset_minutes, lo, hi
        )
    planned = PlannedInterruption.objects.affecting(organization).filter(start__lt=hi, end__gt=lo)
    # "Announced" means announced before it starts: a late notice does not excuse downtime.
    periods += [(p.start, p.end) for p in planned if p.announced_in_advance]
    majeure = ForceMajeurePeriod.objects.affecting(organization).filter(start__lt=hi, end__gt=lo)
    periods += [(p.start, p.end) for p in majeure]
    return intervals.merge(periods)


def incident_intervals(organization, lo, hi, now) -> list[intervals.Interval]:
    """Incidents overlapping [lo, hi); `organization=None` means all-organization ones only."""
    qs = Incident.objects.affecting(organization).filter(started_at__lt=hi)
    qs = qs.exclude(ended_at__lte=lo)
    return intervals.merge(i.interval(now) for i in qs)


def month_figures(organization, month: datetime.date, now=None) -> intervals.MonthFigures:
    """The month's availability for one organization (None: incidents affecting everyone).

    A future month is refused; the current month is measured from its start up to now.
    """
    now = now or timezone.now()
    lo, hi = intervals.month_bounds(month)
    if lo > now:
        raise ServiceError(_("This month has not started yet."), field="month")
    hi = min(hi, now)
    return intervals.compute_month(
        (lo, hi),
        incident_intervals(organization, lo, hi, now),
        unavailability_intervals(organization, lo, hi),
    )


@on_replica
def availability_report(organization, month: datetime.date, now=None) -> dict:
    """The API's availability body (SPEC section 6 field names)."""
    figures = month_figures(organization, month, now)
    return {
        "month": f"{month:%Y-%m}",
        "availability_percent": intervals.report_percent(figures.availability),
        "downtime_minutes": intervals.report_minutes(figures.downtime),
        "eligible_minutes": intervals.report_minutes(figures.eligible),
        "excluded_minutes": intervals.report_minutes(figures.excluded),
        "target_percent": float(intervals.TARGET_PERCENT),
        "credits": figures.credits,
    }


@on_replica
def availability_history(organization, count: int, now=None) -> list[dict]:
    """The last `count` months (current one measured to now), oldest first, in 4 queries."""
    now = now or timezone.now()
    months = last_months(count, now)
    lo = intervals.month_bounds(months[0])[0]
    incidents = incident_intervals(organization, lo, now, now)
    excluded = unavailability_intervals(organization, lo, now)
    rows = []
    for month in months:
        m_lo, m_hi = intervals.month_bounds(month)
        figures = intervals.compute_month((m_lo, min(m_hi, now)), incidents, excluded)
        rows.append(
            {
                "month": f"{month:%Y-%m}",
                "month_date": month,
                "percent": intervals.report_percent(figures.availability),
                "downtime_minutes": intervals.report_minutes(figures.downtime),
                "credits": figures.credits,
                "partial": m_hi > now,
            }
        )
    return rows


def open_incidents(organization, now=None):
    now = now or timezone.now()
    return list(
        Incident.objects.affecting(organization)
        .filter(ended_at__isnull=True, started_at__lte=now)
        .order_by("-started_at")
    )


def upcoming_maintenance(organization, now=None, count=4) -> list[intervals.Interval]:
    """The next `count` weekly maintenance windows (the current one included)."""
    now = now or timezone.now()
    periods = []
    for window in MaintenanceWindow.objects.affecting(organization).filter(active=True):
        periods += intervals.weekly_occurrences(
            window.weekday,
            window.start_time,
            window.end_time,
            window.utc_offset_minutes,
            now,
            now + datetime.timedelta(days=7 * count + 1),
        )
    return intervals.merge(periods)[:count]


# -- incidents -----------------------------------------------------------------------------

INCIDENT_FIELDS = ("started_at", "ended_at", "summary")


# Incidents are bounded (issue 10): no year before 1970, and an incident still open (no end)
# may have started at most this long ago; an older outage needs its end, or it would zero
# every month's availability since.
INCIDENT_EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
INCIDENT_MAX_OPEN_DAYS = 31


def check_incident_times(started_at, ended_at, now=None):
    now = now or timezone.now()
    if started_at is None:
        raise ServiceError(_("This field is required."), field="started_at")
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None and value < INCIDENT_EARLIEST:
            raise ServiceError(_("Give a time from 1970 on."), field=name)
    max_open = datetime.timedelta(days=INCIDENT_MAX_OPEN_DAYS)
    if ended_at is None and started_at < now - max_open:
        raise ServiceError(
            _("An incident open for more than %(days)d days needs its end time.")
            % {"days": INCIDENT_MAX_OPEN_DAYS},
            field="ended_at",
        )
    if started_at > now + datetime.timedelta(seconds=1):
        raise ServiceError(_("An incident cannot start in the future."), field="started_at")
    if ended_at is not None and ended_at < started_at:
        raise ServiceError(_("The end is before the start."), field="ended_at")
    if ended_at is not None and ended_at > now + datetime.timedelta(seconds=1):
        raise ServiceError(
            _("An incident cannot end in the future; leave the end empty while it lasts."),
            field="ended_at",
        )


def _snapshot(incident) -> dict:
    values = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
    values = {
        k: v.isoformat() if isinstance(v, datetime.datetime) else v for k, v in values.items()
    }
    if incident.pk:
        values["organizations"] = sorted(incident.organizations.values_list("pk", flat=True))
    return values


@transaction.atomic
def record_incident(*, actor, started_at, summary, ended_at=None, organizations=()) -> Incident:
    now = timezone.now()
    check_incident_times(started_at, ended_at, now)
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
def update_incident(incident, *, actor, organizations=None, **values) -> Incident:
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


# -- credits: creation ---------------------------------------------------------------------


def ticket_earns_credit(ticket) -> bool:
    resolved = ticket.resolved_at
    return bool(
        ticket.priority in CREDIT_PRIORITIES
        and resolved
        and ticket.breached("resolution", resolved)
    )


@transaction.atomic
def sync_resolution_credit(ticket) -> ServiceCredit | None:
    """Create or refresh the ticket's resolution credit. Idempotent; one credit per ticket.

    1. An open credit follows the ticket's latest resolution: resolved again later (after a
       reopen) → more days, and breach_at/claim_deadline move to the new resolution.
    2. A claimed or decided credit is frozen: the client's claim and staff's decision stand.
    3. A ticket that no longer qualifies (excluded, or reclassified P3) refuses its open
       credit with a note, keeping the row for the audit trail.
    """
    ticket = Ticket.objects.select_related("organization").get(pk=ticket.pk)
    credit = ServiceCredit.objects.select_for_update().filter(ticket=ticket).first()
    if not ticket_earns_credit(ticket):
        if credit and credit.status == CreditStatus.OPEN and _no_longer_qualifies(ticket):
            _decide(credit, CreditStatus.REFUSED, None, _("The ticket no longer earns a credit."))
        return credit
    days = intervals.resolution_credits(ticket.resolution_due_at, ticket.resolved_at)
    values = {
        "days": days,
        "breach_at": ticket.resolved_at,
        "claim_deadline": ticket.resolved_at + CLAIM_WINDOW,
    }
    if credit is None:
        return _create_credit(
            organization=ticket.organization, kind=CreditKind.RESOLUTION, ticket=ticket, **values
        )
    if credit.status == CreditStatus.OPEN or _auto_refused(credit):
        for name, value in values.items():
            setattr(credit, name, value)
        credit.status = CreditStatus.OPEN
        credit.decided_at = credit.decided_by = None
        credit.decision_note = ""
        credit.save(update_fields=[*values, "status", "decided_at", "decided_by", "decision_note"])
    return credit


def _no_longer_qualifies(ticket) -> bool:
    # A reopened ticket (no resolved_at) keeps its credit open until it is resolved again.
    return ticket.excluded or ticket.priority not in CREDIT_PRIORITIES


def _auto_refused(credit) -> bool:
    return credit.status == CreditStatus.REFUSED and credit.decided_by_id is None


def _publish(credit, action, actor=None) -> None:
    """The credit's domain event (tickets.events): notifications and webhooks read it."""
    events.publish([events.CreditChange(credit, action, actor)])


def _create_credit(**values) -> ServiceCredit:
    try:
        with transaction.atomic():
            credit = ServiceCredit.objects.create(**values)
            _publish(credit, "created")
            return credit
    except IntegrityError:
        # Another worker created it first (unique per ticket / per org-month): keep theirs.
        lookup = (
            {"ticket": values["ticket"]}
            if values.get("ticket")
            else {
                "organization": values["organization"],
                "month": values["month"],
                "kind": values["kind"],
            }
        )
        return ServiceCredit.objects.get(**lookup)


def organizations_under_contract(month: datetime.date):
    last_day = intervals.month_bounds(month)[1].date() - datetime.timedelta(days=1)
    return Organization.objects.filter(
        contract__start_date__lte=last_day, contract__end_date__gte=month
    ).order_by("pk")


def close_month(month: datetime.date, now=None) -> list[ServiceCredit]:
    """Create the month's availability credits. Idempotent: a second run changes nothing.

    Runs only once the month is over; the breach is established at the month's end, so
    breach_at is the first instant of the next month and the claim window runs 30 days.
    """
    now = now or timezone.now()
    lo, hi = intervals.month_bounds(month)
    if hi > now:
        raise ServiceError(_("This month is not over yet."), field="month")
    created = []
    for organization in organizations_under_contract(month):
        figures = month_figures(organization, month, now)
        if (
            figures.credits
            and not ServiceCredit.objects.filter(
                kind=CreditKind.AVAILABILITY, organization=organization, month=month
            ).exists()
        ):
            created.append(
                _create_credit(
                    organization=organization,
                    kind=CreditKind.AVAILABILITY,
                    month=month,
                    days=figures.credits,
                    breach_at=hi,
                    claim_deadline=hi + CLAIM_WINDOW,
                )
            )
    return created


# -- credits: claim, decide, expire --------------------------------------------------------


def _window_closed(credit) -> ServiceError:
    deadline = timezone.localtime(credit.claim_deadline, datetime.UTC)
    return ServiceError(
        _("The 30-day claim window closed on %(date)s.")
        % {"date": deadline.strftime("%Y-%m-%d %H:%M UTC")},
        field="claim_deadline",
    )


@transaction.atomic
def claim(credit, *, user, now=None) -> ServiceCredit:
    """The client's written claim. Accepted while now <= claim_deadline (day 30 included)."""
    now = now or timezone.now()
    credit = ServiceCredit.objects.select_for_update().get(pk=credit.pk)
    if user.is_staff or user.organization_id != credit.organization_id:
        raise ServiceError(_("Only a member of the organization can claim its credit."))
    if credit.status in (CreditStatus.CLAIMED, CreditStatus.GRANTED, CreditStatus.REFUSED):
        raise Conflict(_("This credit has already been claimed."), field="status")
    if credit.status == CreditStatus.EXPIRED or now > credit.claim_deadline:
        raise _window_closed(credit)
    credit.status = CreditStatus.CLAIMED
    credit.claimed_at = now
    credit.claimed_by = user
    credit.save(update_fields=["status", "claimed_at", "claimed_by"])
    _publish(credit, "claimed", user)
    return credit


def _decide(credit, status, actor, note):
    credit.status = status
    credit.decided_at = timezone.now()
    credit.decided_by = actor
    credit.decision_note = note or ""
    credit.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    _publish(credit, status, actor)


def _lock_claimed(credit) -> ServiceCredit:
    credit = ServiceCredit.objects.select_for_update().get(pk=credit.pk)
    if credit.status != CreditStatus.CLAIMED:
        raise Conflict(
            _("Only a claimed credit can be decided; this one is %(status)s.")
            % {"status": credit.get_status_display().lower()},
            field="status",
        )
    return credit


@transaction.atomic
def grant(credit, *, actor, note="") -> ServiceCredit:
    """Grant a claim: the contract's end date moves by the credit's days, recorded."""
    credit = _lock_claimed(credit)
    contract = Contract.objects.select_for_update().get(organization_id=credit.organization_id)
    old_end = contract.end_date
    contract.end_date = old_end + datetime.timedelta(days=credit.days)
    contract.save(update_fields=["end_date"])
    _decide(credit, CreditStatus.GRANTED, actor, note)
    ContractChange.objects.create(
        contract=contract,
        credit=credit,
        old_end_date=old_end,
        new_end_date=contract.end_date,
        reason=f"{credit.get_kind_display()} {credit.subject}: +{credit.days} d",
        actor=actor,
        at=credit.decided_at,
    )
    return credit


@transaction.atomic
def refuse(credit, *, actor, note="") -> ServiceCredit:
    credit = _lock_claimed(credit)
    _decide(credit, CreditStatus.REFUSED, actor, note)
    return credit


def expire_credits(now=None, batch=500) -> int:
    """Open credits past their claim deadline become expired. Safe to run twice or in parallel.

    Reads the partial index credit_open_deadline_idx; each row flips with a compare-and-swap
    on status, so a client claiming at the same moment either wins or finds it expired.
    """
    now = now or timezone.now()
    done = 0
    while True:
        ids = list(
            ServiceCredit.objects.filter(status=CreditStatus.OPEN, claim_deadline__lt=now)
            .order_by("claim_deadline")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return done
        done += ServiceCredit.objects.filter(
            pk__in=ids, status=CreditStatus.OPEN, claim_deadline__lt=now
        ).update(status=CreditStatus.EXPIRED)
