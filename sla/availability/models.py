"""Incidents, unavailability periods and service credits.

The arithmetic (what a month's availability is, how many credits a breach earns) lives in
`intervals.py` (pure) and `services.py` (reads these rows, changes state); these models hold
data plus small methods that derive from the row itself.
"""

import datetime
from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from core.tenancy import OrganizationScopedQuerySet
from tickets.models import format_reference

_M = TypeVar("_M", bound=models.Model)


class OrgScopedQuerySet(models.QuerySet[_M]):
    def affecting(self, organization: Organization | int | None) -> Self:
        """Rows for every organization (no restriction) plus those restricted to this one."""
        if organization is None:
            return self.filter(organizations__isnull=True)
        org_id = getattr(organization, "pk", organization)
        return self.filter(Q(organizations__isnull=True) | Q(organizations=org_id)).distinct()


class Incident(models.Model):
    """An outage of the solution's UI recorded by staff; open while ended_at is empty."""

    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(
        _("ended at"), null=True, blank=True, help_text=_("Empty while the incident is ongoing.")
    )
    summary = models.CharField(_("summary"), max_length=300)
    organizations = models.ManyToManyField(
        "accounts.Organization",
        blank=True,
        related_name="incidents",
        verbose_name=_("affected organizations"),
        help_text=_("Leave empty when every organization is affected."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["started_at"], name="incident_started_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="incident_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def interval(
        self, now: datetime.datetime | None = None
    ) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end): an open incident counts up to now."""
        return self.started_at, self.ended_at or now or timezone.now()


class IncidentRevision(models.Model):
    """History of an incident: one row per create or edit, with the fields before and after."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="revisions")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20)
    changes = models.JSONField(default=dict, help_text=_("field → [old, new]"))

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incidentrev_incident_idx")]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class MaintenanceWindow(models.Model):
    """A weekly window at a fixed UTC offset (the contract says UTC+2, all year round)."""

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("start time"))
    end_time = models.TimeField(
        _("end time"), help_text=_("At or before the start time means the next day.")
    )
    utc_offset_minutes = models.SmallIntegerField(_("UTC offset (minutes)"), default=120)
    active = models.BooleanField(_("active"), default=True)
    organizations = models.ManyToManyField(
        "accounts.Organization",
        blank=True,
        related_name="maintenance_windows",
        help_text=_("Leave empty for every organization."),
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")

    def __str__(self) -> str:
        sign = "+" if self.utc_offset_minutes >= 0 else "-"
        hours, minutes = divmod(abs(self.utc_offset_minutes), 60)
        return (
            f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M} "
            f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
        )


class PlannedInterruption(models.Model):
    """Excluded only when announced before it starts (announced_at < start)."""

    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    summary = models.CharField(_("summary"), max_length=300)
    announced_at = models.DateTimeField(_("announced at"))
    organizations = models.ManyToManyField(
        "accounts.Organization",
        blank=True,
        related_name="planned_interruptions",
        help_text=_("Leave empty for every organization."),
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-start"]
        verbose_name = _("planned interruption")
        verbose_name_plural = _("planned interruptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="planned_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def announced_in_advance(self) -> bool:
        return self.announced_at < self.start


class ForceMajeurePeriod(models.Model):
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    reason = models.CharField(_("reason"), max_length=300)
    organizations = models.ManyToManyField(
        "accounts.Organization",
        blank=True,
        related_name="force_majeure_periods",
        help_text=_("Leave empty for every organization."),
    )

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-start"]
        verbose_name = _("force-majeure period")
        verbose_name_plural = _("force-majeure periods")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="force_majeure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.reason


CLAIM_WINDOW = datetime.timedelta(days=30)


class CreditKind(models.TextChoices):
    RESOLUTION = "resolution", _("Late resolution")
    AVAILABILITY = "availability", _("Monthly availability")


class CreditStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    EXPIRED = "expired", _("Expired")


class CreditQuerySet(OrganizationScopedQuerySet["ServiceCredit"]):
    """visible_to(user) is the tenancy guard for credits: portal, API and statements."""


class ServiceCredit(models.Model):
    """One credit row per breach; `days` is how many one-day contract extensions it is worth."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="service_credits"
    )
    kind = models.CharField(max_length=12, choices=CreditKind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_credits",
    )
    month = models.DateField(null=True, blank=True, help_text=_("First day of the month."))
    days = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=CreditStatus.choices, default=CreditStatus.OPEN
    )
    breach_at = models.DateTimeField()
    claim_deadline = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_credits",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decided_credits",
    )
    decision_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CreditQuerySet.as_manager()

    class Meta:
        ordering = ["-breach_at", "-id"]
        verbose_name = _("service credit")
        verbose_name_plural = _("service credits")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(kind="resolution"),
                name="credit_one_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["organization", "month"],
                condition=Q(kind="availability"),
                name="credit_one_per_org_month",
            ),
            models.CheckConstraint(
                condition=(Q(kind="resolution", ticket__isnull=False))
                | Q(kind="availability", month__isnull=False),
                name="credit_kind_has_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-breach_at"], name="credit_org_breach_idx"),
            # Read by services.expire_credits: only open credits are swept.
            models.Index(
                fields=["claim_deadline"],
                name="credit_open_deadline_idx",
                condition=Q(status="open"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.organization} — {self.days} d"

    @property
    def subject(self) -> str:
        if self.kind == CreditKind.RESOLUTION and self.ticket_id:
            return format_reference(self.ticket_id)
        return f"{self.month:%Y-%m}" if self.month else ""

    def status_at(self, now: datetime.datetime) -> str:
        """The status as of now: an open credit past its deadline reads as expired, before
        the beat job (services.expire_credits) writes it; reading never writes."""
        if self.status == CreditStatus.OPEN and now > self.claim_deadline:
            return CreditStatus.EXPIRED
        return self.status

    def claimable_at(self, now: datetime.datetime) -> bool:
        return self.status == CreditStatus.OPEN and now <= self.claim_deadline

    def days_left(self, now: datetime.datetime | None = None) -> int:
        """Whole days left to claim (0 on the last day), for the portal."""
        if self.status != CreditStatus.OPEN:
            return 0
        left = self.claim_deadline - (now or timezone.now())
        return max(left.days, 0)


class ContractChange(models.Model):
    """History of the contract end date: every extension by a granted credit."""

    contract = models.ForeignKey(
        "accounts.Contract", on_delete=models.CASCADE, related_name="changes"
    )
    credit = models.ForeignKey(
        ServiceCredit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contract_changes",
    )
    old_end_date = models.DateField()
    new_end_date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # A credit extends the contract once, even if two staff grant it at the same time.
            models.UniqueConstraint(fields=["credit"], name="contract_change_once_per_credit")
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.old_end_date} → {self.new_end_date}"


class StatementDelivery(models.Model):
    """A monthly statement emailed to an organization: the unique row makes the job run once."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="statement_deliveries"
    )
    month = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="statement_once_per_org_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.month:%Y-%m}"
