"""Staff SLA compliance report: per month, plan, priority and region, and the clients'
satisfaction (CSAT) per agent and per organization (read-only)."""

from __future__ import annotations

import datetime
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet

from accounts.models import Contract
from core.exports import SafeWriter
from core.replica import on_replica
from tickets.models import SatisfactionRating, Ticket

from . import intervals
from .models import CreditKind, CreditStatus, ServiceCredit


@dataclass
class ComplianceRow:
    plan: str
    priority: str
    region: str
    tickets: int = 0
    response_met: int = 0
    response_breached: int = 0
    resolution_met: int = 0
    resolution_breached: int = 0
    response_times: list[float] = field(default_factory=list, repr=False)
    resolution_times: list[float] = field(default_factory=list, repr=False)
    credits_granted: int = 0  # credit days granted

    @property
    def median_response(self) -> datetime.timedelta | None:
        return _median(self.response_times)

    @property
    def median_resolution(self) -> datetime.timedelta | None:
        return _median(self.resolution_times)


def _median(values: list[float]) -> datetime.timedelta | None:
    if not values:
        return None
    return datetime.timedelta(seconds=round(statistics.median(values)))


def _count(row: ComplianceRow, ticket: Ticket) -> None:
    row.tickets += 1
    if ticket.excluded:
        return
    _count_phase(row, "response", ticket.response_due_at, ticket.first_response_at, ticket)
    _count_phase(row, "resolution", ticket.resolution_due_at, ticket.resolved_at, ticket)
    if ticket.first_response_at:
        row.response_times.append((ticket.first_response_at - ticket.received_at).total_seconds())
    if ticket.resolved_at and ticket.first_response_at:
        row.resolution_times.append((ticket.resolved_at - ticket.first_response_at).total_seconds())


def _count_phase(
    row: ComplianceRow,
    phase: str,
    due: datetime.datetime | None,
    done: datetime.datetime | None,
    ticket: Ticket,
) -> None:
    """A phase with a deadline counts once it is over: met, or breached (even if running)."""
    breached = getattr(ticket, f"{phase}_breached")
    if not due or not (done or breached):
        return
    name = f"{phase}_breached" if breached else f"{phase}_met"
    setattr(row, name, getattr(row, name) + 1)


def _filter_tickets(
    tickets: QuerySet[Ticket], plan: str, priority: str, region: str
) -> QuerySet[Ticket]:
    if plan:
        tickets = tickets.filter(organization__contract__plan__slug=plan)
    if priority:
        tickets = tickets.filter(priority=priority)
    if region:
        tickets = tickets.filter(organization__contract__region=region)
    return tickets


def _granted(
    month: datetime.date,
    lo: datetime.datetime,
    hi: datetime.datetime,
    plan: str,
    priority: str,
    region: str,
) -> QuerySet[ServiceCredit]:
    """Credits granted for the month: its late resolutions' and its availability's."""
    granted = ServiceCredit.objects.filter(status=CreditStatus.GRANTED).filter(
        Q(kind=CreditKind.RESOLUTION, ticket__received_at__gte=lo, ticket__received_at__lt=hi)
        | Q(kind=CreditKind.AVAILABILITY, month=month)
    )
    if plan:
        granted = granted.filter(organization__contract__plan__slug=plan)
    if region:
        granted = granted.filter(organization__contract__region=region)
    if priority:
        granted = granted.filter(kind=CreditKind.RESOLUTION, ticket__priority=priority)
    return granted.select_related("ticket", "organization__contract__plan")


# core.replica.on_replica is not annotated yet (core is typed separately).
@on_replica  # type: ignore[untyped-decorator]
def compliance(
    month: datetime.date, *, plan: str = "", priority: str = "", region: str = ""
) -> list[ComplianceRow]:
    """Tickets received in the month, grouped; credit days granted for the month's breaches."""
    lo, hi = intervals.month_bounds(month)
    tickets = Ticket.objects.filter(received_at__gte=lo, received_at__lt=hi).select_related(
        "organization__contract__plan"
    )
    rows: dict[tuple[str, str, str], ComplianceRow] = {}

    def row_for(contract: Contract | None, prio: str) -> ComplianceRow:
        key = (contract.plan.name if contract else "—", prio, contract.region if contract else "—")
        return rows.setdefault(key, ComplianceRow(*key))

    for ticket in _filter_tickets(tickets, plan, priority, region):
        _count(row_for(getattr(ticket.organization, "contract", None), ticket.priority), ticket)
    for credit in _granted(month, lo, hi, plan, priority, region):
        prio = credit.ticket.priority if credit.ticket else "availability"
        row_for(getattr(credit.organization, "contract", None), prio).credits_granted += credit.days
    return [rows[key] for key in sorted(rows)]


@dataclass
class SatisfactionRow:
    name: str
    answers: int
    average: float
    satisfied: int  # answers of 4 or 5

    @property
    def satisfied_percent(self) -> float:
        return round(100 * self.satisfied / self.answers, 1) if self.answers else 0.0


# core.replica.on_replica is not annotated yet (core is typed separately).
@on_replica  # type: ignore[untyped-decorator]
def satisfaction(
    month: datetime.date, *, plan: str = "", priority: str = "", region: str = ""
) -> dict[str, list[SatisfactionRow]]:
    """CSAT answers on the month's tickets (same filters as compliance()), per agent (the
    ticket's assignee) and per organization: two grouped queries."""
    lo, hi = intervals.month_bounds(month)
    answers = SatisfactionRating.objects.filter(
        ticket__received_at__gte=lo, ticket__received_at__lt=hi
    )
    if plan:
        answers = answers.filter(ticket__organization__contract__plan__slug=plan)
    if priority:
        answers = answers.filter(ticket__priority=priority)
    if region:
        answers = answers.filter(ticket__organization__contract__region=region)
    return {
        "by_agent": _satisfaction_rows(answers, "ticket__assignee__username"),
        "by_organization": _satisfaction_rows(answers, "ticket__organization__name"),
    }


def _satisfaction_rows(answers: QuerySet[SatisfactionRating], key: str) -> list[SatisfactionRow]:
    grouped = (
        answers.values(key)
        .annotate(n=Count("pk"), mean=Avg("rating"), good=Count("pk", filter=Q(rating__gte=4)))
        .order_by(key)
    )
    return [
        SatisfactionRow(row[key] or "—", row["n"], round(row["mean"], 2), row["good"])
        for row in grouped
    ]


def totals_by_priority(rows: list[ComplianceRow]) -> list[tuple[str, int, int]]:
    """(priority, resolution met, resolution breached) for the chart."""
    met: dict[str, int] = defaultdict(int)
    breached: dict[str, int] = defaultdict(int)
    for row in rows:
        if row.priority.startswith("P"):
            met[row.priority] += row.resolution_met
            breached[row.priority] += row.resolution_breached
    return [(p, met[p], breached[p]) for p in sorted(set(met) | set(breached))]


CSV_HEADER = [
    "month",
    "plan",
    "priority",
    "region",
    "tickets",
    "response_met",
    "response_breached",
    "resolution_met",
    "resolution_breached",
    "median_response_minutes",
    "median_resolution_minutes",
    "credit_days_granted",
]


def _minutes(value: datetime.timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def as_csv(month: datetime.date, rows: list[ComplianceRow]) -> str:
    out = io.StringIO()
    # core.exports.SafeWriter is not annotated yet (core is typed separately).
    writer: Any = SafeWriter(out)  # type: ignore[no-untyped-call]
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                f"{month:%Y-%m}",
                r.plan,
                r.priority,
                r.region,
                r.tickets,
                r.response_met,
                r.response_breached,
                r.resolution_met,
                r.resolution_breached,
                _minutes(r.median_response),
                _minutes(r.median_resolution),
                r.credits_granted,
            ]
        )
    return out.getvalue()
