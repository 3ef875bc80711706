"""Service credits: earned by late resolutions and low availability, claimed by the client,
granted or refused by staff, expired when unclaimed."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Contract, Organization
from core.errors import Conflict, ServiceError
from tickets import events
from tickets.models import Priority, Ticket

from . import intervals
from .figures import month_figures
from .models import CLAIM_WINDOW, ContractChange, CreditKind, CreditStatus, ServiceCredit

CREDIT_PRIORITIES = (Priority.P0, Priority.P1, Priority.P2)


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
