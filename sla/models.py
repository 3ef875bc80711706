"""SLA data: regional business calendars with staff overrides, and each plan's targets."""

from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from tickets.models import Priority


class Clock(models.TextChoices):
    """How a target's time is counted; also stored on Ticket.response_clock/resolution_clock."""

    BUSINESS = "business", _("Business hours")
    CLOCK = "clock", _("Clock hours (24/7)")


class Phase(models.TextChoices):
    """Which target of a ticket runs: the response target until the first response."""

    RESPONSE = "response", _("Response")
    RESOLUTION = "resolution", _("Resolution")


class BusinessCalendar(models.Model):
    """One support region. Holidays come from the `holidays` package; days below override it."""

    region = models.CharField(max_length=8, choices=Region.choices, unique=True)
    timezone = models.CharField(max_length=64, help_text=_("IANA time zone, e.g. Europe/London."))
    holiday_country = models.CharField(max_length=4)
    holiday_subdiv = models.CharField(max_length=8, blank=True)
    # Bumped whenever a CalendarDay changes, so every process's calendar cache notices
    # (read by sla.engine.calendar_for_region).
    version = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region"]

    def __str__(self) -> str:
        return self.get_region_display()

    @property
    def holiday_source(self) -> str:
        subdiv = f', subdiv="{self.holiday_subdiv}"' if self.holiday_subdiv else ""
        return f'country_holidays("{self.holiday_country}"{subdiv})'

    def bump_version(self) -> None:
        type(self).objects.filter(pk=self.pk).update(version=F("version") + 1)


class CalendarDay(models.Model):
    """A staff override: an extra closed day (e.g. office closure) or an extra open day."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed")
        OPEN = "open", _("Open")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.CLOSED)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendarday_unique_date"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar.region} {self.date} {self.kind}"


class PlanTarget(models.Model):
    """A plan's response and resolution targets for one priority; null minutes = no target."""

    plan = models.ForeignKey("accounts.Plan", on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.CharField(max_length=2, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(null=True, blank=True)
    response_clock = models.CharField(max_length=10, choices=Clock.choices, default=Clock.BUSINESS)
    # The P0 rule: a report received outside business hours gets this target instead.
    response_outside_hours_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Response target when the report is received outside business hours."),
    )
    response_outside_hours_clock = models.CharField(
        max_length=10, choices=Clock.choices, default=Clock.CLOCK
    )
    resolution_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("A business day is 9 business hours (540 minutes).")
    )
    resolution_clock = models.CharField(
        max_length=10, choices=Clock.choices, default=Clock.BUSINESS
    )

    class Meta:
        ordering = ["plan", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "priority"], name="plantarget_unique_priority"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.priority}"
