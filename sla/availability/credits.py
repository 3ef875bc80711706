"""Service credits: earned by late resolutions and low availability, claimed by the client,
granted or refused by staff, expired when unclaimed."""

from __future__ import annotations

import datetime
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Contract, Organization, User
from core.errors import Conflict, ServiceError
from tickets import events
from tickets.models import Priority, Ticket

from . import intervals
from .figures import month_figures
from .models import CLAIM_WINDOW, ContractChange, CreditKind, CreditStatus, ServiceCredit

CREDIT_PRIORITIES = (Priority.P0, Priority.P1, Priority.P2)


class Decision(Protocol):
    """A staff decision on a claim: grant() or refuse()."""

    def __call__(
        self, credit: ServiceCredit, *, actor: User | None, note: str = ""
    ) -> ServiceCredit: ...


def ticket_earns_credit(ticket: Ticket) -> bool:
    resolved = ticket.resolved_at
    return bool(
        ticket.priority in CREDIT_PRIORITIES
        and resolved
        and ticket.breached("resolution", resolved)
    )


@transaction.atomic
def sync_resolution_credit(ticket: Ticket) -> ServiceCredit | None:
    """Create or refresh the ticket's resolution credit. Idempotent; one credit per ticket.

    1. An open credit follows the ticket's latest resolution: resolved again later (after a
       reopen) → more days, and breach_at/claim_deadline move to the new resolution.
    2. A claimed or decided credit is frozen: the client's claim and staff's decision stand.
    3. A ticket that no longer qualifies (excluded, or reclassified P3) refuses its open
       credit with a note, keeping the row for the audit trail.
    """
    ticket = Ticket.objects.select_related("organization").get(pk=ticket.pk)
    credit = ServiceCredit.objects.select_for_update().filter(ticket=ticket).first()
    due, resolved = ticket.resolution_due_at, ticket.resolved_at
    if not ticket_earns_credit(ticket) or due is None or resolved is None:
        if credit and credit.status == CreditStatus.OPEN and _no_longer_qualifies(ticket):
            _decide(credit, CreditStatus.REFUSED, None, _("The ticket no longer earns a credit."))
        return credit
    values = {
        "days": intervals.resolution_credits(due, resolved),
        "breach_at": resolved,
        "claim_deadline": resolved + CLAIM_WINDOW,
    }
    if credit is None:
        return _create_credit(
            organization=ticket.organization, kind=CreditKind.RESOLUTION, ticket=ticket, **values
        )
    if credit.status == CreditStatus.OPEN or _auto_refused(credit):
        _reopen(credit, values)
    return credit


def _reopen(credit: ServiceCredit, values: dict[str, Any]) -> None:
    """An open (or automatically refused) credit follows the ticket's latest resolution."""
    for name, value in values.items():
        setattr(credit, name, value)
    credit.status = CreditStatus.OPEN
    credit.decided_at = credit.decided_by = None
    credit.decision_note = ""
    credit.save(update_fields=[*values, "status", "decided_at", "decided_by", "decision_note"])


def _no_longer_qualifies(ticket: Ticket) -> bool:
    # A reopened ticket (no resolved_at) keeps its credit open until it is resolved again.
    return ticket.excluded or ticket.priority not in CREDIT_PRIORITIES


def _auto_refused(credit: ServiceCredit) -> bool:
    return credit.status == CreditStatus.REFUSED and credit.decided_by_id is None


def _publish(credit: ServiceCredit, action: str, actor: User | None = None) -> None:
    """The credit's domain event (tickets.events): notifications and webhooks read it."""
    events.publish([events.CreditChange(credit, action, actor)])


def _create_credit(**values: Any) -> ServiceCredit:
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


def organizations_under_contract(month: datetime.date) -> QuerySet[Organization]:
    last_day = intervals.month_bounds(month)[1].date() - datetime.timedelta(days=1)
    return Organization.objects.filter(
        contract__start_date__lte=last_day, contract__end_date__gte=month
    ).order_by("pk")


def close_month(month: datetime.date, now: datetime.datetime | None = None) -> list[ServiceCredit]:
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


def _window_closed(credit: ServiceCredit) -> ServiceError:
    deadline = timezone.localtime(credit.claim_deadline, datetime.UTC)
    return ServiceError(
        _("The 30-day claim window closed on %(date)s.")
        % {"date": deadline.strftime("%Y-%m-%d %H:%M UTC")},
        field="claim_deadline",
    )


@transaction.atomic
def claim(
    credit: ServiceCredit, *, user: User, now: datetime.datetime | None = None
) -> ServiceCredit:
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


def _decide(credit: ServiceCredit, status: str, actor: User | None, note: str) -> datetime.datetime:
    """Record the decision; returns its time."""
    decided_at = timezone.now()
    credit.status = status
    credit.decided_at = decided_at
    credit.decided_by = actor
    credit.decision_note = note or ""
    credit.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    _publish(credit, status, actor)
    return decided_at


def _lock_claimed(credit: ServiceCredit) -> ServiceCredit:
    credit = ServiceCredit.objects.select_for_update().get(pk=credit.pk)
    if credit.status != CreditStatus.CLAIMED:
        raise Conflict(
            _("Only a claimed credit can be decided; this one is %(status)s.")
            % {"status": credit.get_status_display().lower()},
            field="status",
        )
    return credit


@transaction.atomic
def grant(credit: ServiceCredit, *, actor: User | None, note: str = "") -> ServiceCredit:
    """Grant a claim: the contract's end date moves by the credit's days, recorded."""
    credit = _lock_claimed(credit)
    contract = Contract.objects.select_for_update().get(organization_id=credit.organization_id)
    old_end = contract.end_date
    contract.end_date = old_end + datetime.timedelta(days=credit.days)
    contract.save(update_fields=["end_date"])
    decided_at = _decide(credit, CreditStatus.GRANTED, actor, note)
    ContractChange.objects.create(
        contract=contract,
        credit=credit,
        old_end_date=old_end,
        new_end_date=contract.end_date,
        reason=f"{credit.get_kind_display()} {credit.subject}: +{credit.days} d",
        actor=actor,
        at=decided_at,
    )
    return credit


@transaction.atomic
def refuse(credit: ServiceCredit, *, actor: User | None, note: str = "") -> ServiceCredit:
    credit = _lock_claimed(credit)
    _decide(credit, CreditStatus.REFUSED, actor, note)
    return credit


def expire_credits(now: datetime.datetime | None = None, batch: int = 500) -> int:
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
