"""Escalation data: rules per plan, the fired-escalation rows, the director and on-call shifts."""

import datetime
from typing import Any, Self

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Contract, Region, User
from sla.models import Phase
from tickets.models import Priority, Ticket


class Level(models.IntegerChoices):
    """The escalation level of a ticket and of a fired escalation; 0 is the warning."""

    WARNING = 0, _("Warning")
    LEVEL1 = 1, _("Level 1")
    LEVEL2 = 2, _("Level 2")
    LEVEL3 = 3, _("Level 3")


MAX_LEVEL = Level.LEVEL3

# Who each level reaches (the contract's "Procédure d'escalade").
ROLES = {
    Level.WARNING: _("Assignee and support team"),
    Level.LEVEL1: _("Customer Support Manager"),
    Level.LEVEL2: _("Customer Account Manager"),
    Level.LEVEL3: _("Worldwide Support Director"),
}


class Action(models.TextChoices):
    WARNING = "warning", _("Warning to the assignee and the support team")
    LEVEL1 = "level1", _("Escalate to level 1 (Customer Support Manager)")
    LEVEL2 = "level2", _("Escalate to level 2 (Customer Account Manager)")
    LEVEL3 = "level3", _("Escalate to level 3 (Worldwide Support Director)")


ACTION_LEVEL = {
    Action.WARNING: Level.WARNING,
    Action.LEVEL1: Level.LEVEL1,
    Action.LEVEL2: Level.LEVEL2,
    Action.LEVEL3: Level.LEVEL3,
}


class Trigger(models.TextChoices):
    DEADLINE = "deadline", _("Deadline")
    REQUEST = "request", _("Request")


class EscalationRule(models.Model):
    """At `percent` of a target's time elapsed (in the target's own clock), do `action`.

    Rules with a priority apply to that priority only and replace the plan's general rules
    (priority empty) for it; see escalation.rules.rules_for.
    """

    plan = models.ForeignKey(
        "accounts.Plan", on_delete=models.CASCADE, related_name="escalation_rules"
    )
    priority = models.CharField(
        max_length=2,
        choices=Priority.choices,
        null=True,
        blank=True,
        help_text=_("Empty: every priority without rules of its own."),
    )
    percent = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("Share of the target's time elapsed: 100 is the deadline itself."),
    )
    action = models.CharField(max_length=10, choices=Action.choices)

    class Meta:
        ordering = ["plan", "priority", "percent"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "priority", "percent"],
                condition=Q(priority__isnull=False),
                name="escalation_rule_unique_priority",
            ),
            models.UniqueConstraint(
                fields=["plan", "percent"],
                condition=Q(priority__isnull=True),
                name="escalation_rule_unique_all",
            ),
        ]

    def __str__(self) -> str:
        scope = self.priority or _("all priorities")
        return f"{self.plan} · {scope} · {self.percent}% → {self.get_action_display()}"

    @property
    def level(self) -> Level:
        return ACTION_LEVEL[Action(self.action)]


class EscalationEventQuerySet(models.QuerySet["EscalationEvent"]):
    def seen_by(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """What `user` may see of these escalations of tickets they can see: staff every row,
        clients the levels, never the internal warnings (which name the assignee). The one
        rule for the API, the portal's ticket page and visible_to()."""
        if getattr(user, "is_staff", False):
            return self
        return self.filter(level__gte=Level.LEVEL1)

    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> Self:
        """Clients see their organization's escalations, never the internal warnings."""
        return self.filter(ticket__in=Ticket.objects.visible_to(user)).seen_by(user)


class EscalationEvent(models.Model):
    """One fired escalation. The constraints make every level fire at most once per ticket."""

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="escalations",
        # escalation_ticket_idx (ticket, fired_at) serves the ticket's rows and its cascade;
        # a second index would only cost every insert of the sweep.
        db_index=False,
    )
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    phase = models.CharField(max_length=10, choices=Phase.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    reason = models.TextField(blank=True)
    fired_at = models.DateTimeField()
    role = models.CharField(max_length=80)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_missing = models.BooleanField(
        default=False, help_text=_("No contact was set: the support team was notified instead.")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requested_escalations",
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    notified_to = models.JSONField(default=list, blank=True)

    objects = EscalationEventQuerySet.as_manager()

    class Meta:
        ordering = ["fired_at", "level", "id"]
        constraints = [
            # The guarantee behind "every level fires at most once", even with two sweeps
            # running at once: escalation.sweep inserts with ignore_conflicts.
            models.UniqueConstraint(
                fields=["ticket", "level"],
                condition=Q(level__gte=1),
                name="escalation_level_once_per_ticket",
            ),
            models.UniqueConstraint(
                fields=["ticket", "phase"],
                condition=Q(level=0),
                name="escalation_warning_once_per_phase",
            ),
            models.CheckConstraint(
                condition=Q(level__lte=MAX_LEVEL), name="escalation_level_max_3"
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "fired_at"], name="escalation_ticket_idx"),
            # Read by escalation.tasks.notify_events' retries and the admin's "not notified".
            models.Index(
                fields=["fired_at"],
                name="escalation_unnotified_idx",
                condition=Q(notified_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} level {self.level} ({self.trigger})"

    @property
    def contact(self) -> str:
        if self.contact_name and self.contact_email:
            return f"{self.contact_name} <{self.contact_email}>"
        return self.contact_email or self.contact_name


class Director(models.Model):
    """The Worldwide Support Director (level 3): one for the whole site (row pk=1)."""

    name = models.CharField(max_length=200, default="Worldwide Support Director")
    email = models.EmailField(blank=True)

    class Meta:
        verbose_name = _("Worldwide Support Director")
        verbose_name_plural = _("Worldwide Support Director")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="director_singleton")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> "Director":
        director, _created = cls.objects.get_or_create(pk=1)
        return director


class OnCallShiftQuerySet(models.QuerySet["OnCallShift"]):
    def at(self, moment: datetime.datetime) -> Self:
        return self.filter(starts_at__lte=moment, ends_at__gt=moment)


class OnCallShift(models.Model):
    """Who answers the 24/7 P0 line of a region, e.g. one engineer per region per week."""

    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="oncall_shifts",
        limit_choices_to={"is_staff": True},
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    objects = OnCallShiftQuerySet.as_manager()

    class Meta:
        ordering = ["region", "starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="oncall_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["region", "starts_at"], name="oncall_region_idx")]

    def __str__(self) -> str:
        span = f"{self.starts_at:%Y-%m-%d %H:%M} → {self.ends_at:%Y-%m-%d %H:%M}"
        return f"{self.region}: {self.engineer} {span}"


def on_call_for(region: str, at: datetime.datetime) -> User | None:
    """The staff user on call for `region` at `at`, or None (latest-starting shift wins)."""
    shift = (
        OnCallShift.objects.at(at)
        .filter(region=region)
        .select_related("engineer")
        .order_by("-starts_at")
        .first()
    )
    return shift.engineer if shift else None


class ContractContacts(Contract):
    """The admin's "Contacts check": contracts seen from their escalation contacts."""

    class Meta:
        proxy = True
        verbose_name = _("escalation contacts check")
        verbose_name_plural = _("escalation contacts check")


class PageRecord(models.Model):
    """One row per off-hours P0 page decision (escalation.paging): paged at once, or gathered
    into its organization's digest, due when the first page's window ends."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="page_records"
    )
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="page_record"
    )
    at = models.DateTimeField()
    paged = models.BooleanField()
    digest_due_at = models.DateTimeField(null=True, blank=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Read by paging.page_now: the organization's last immediate page.
            models.Index(fields=["organization", "paged", "-at"], name="page_org_last_idx"),
            # Read by paging.send_due_digests: gathered pages not sent yet.
            models.Index(
                fields=["digest_due_at"],
                name="page_digest_due_idx",
                condition=models.Q(paged=False, digest_sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{'page' if self.paged else 'digest'} {self.ticket_id} at {self.at:%Y-%m-%d %H:%M}"
