"""Calendars, plan targets, and the SLA column and filters of the ticket list."""

import datetime
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from accounts.admin import StaffAccessMixin
from tickets import desk
from tickets.admin import TicketAdmin
from tickets.models import ACTIVE_STATUSES, Ticket, breached_q

from . import engine
from .calendars import REGIONS
from .display import sla_status
from .models import BusinessCalendar, CalendarDay, PlanTarget
from .templatetags.sla_tags import badge

# Above this many active tickets in a region, a calendar edit asks staff to run the command
# instead of recomputing inside the request.
INLINE_RECOMPUTE_MAX = 500


class CalendarDayInline(StaffAccessMixin, admin.TabularInline[CalendarDay, Any]):
    model = CalendarDay
    extra = 1
    fields = ("date", "kind", "note")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(StaffAccessMixin, admin.ModelAdmin[BusinessCalendar]):
    list_display = ("region", "timezone", "holiday_source", "override_count", "updated_at")
    # Time zone and holiday source follow the region (sla.calendars); staff add days below.
    readonly_fields = ("region", "timezone", "holiday_source", "version", "updated_at")
    fields = readonly_fields
    inlines = (CalendarDayInline,)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("overrides"))
    def override_count(self, obj: BusinessCalendar) -> int:
        return obj.days.count()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if any(fs.has_changed() for fs in formsets):
            recompute_after_calendar_change(request, form.instance.region)


def recompute_after_calendar_change(request: HttpRequest, region: str) -> None:
    """Recompute this region's active deadlines now if they are few; else say how to."""
    active = engine.count_active(region)
    if active > INLINE_RECOMPUTE_MAX:
        message = _(
            "%(count)s active tickets in %(region)s keep their deadlines until you run "
            "“python manage.py recompute_deadlines --region %(region)s”."
        ) % {"count": f"{active:,}", "region": region}
        messages.warning(request, message)
        return
    result = engine.recompute_active(region)
    message = ngettext(
        "Recomputed %(tickets)d active ticket in %(region)s: %(changed)d deadlines changed.",
        "Recomputed %(tickets)d active tickets in %(region)s: %(changed)d deadlines changed.",
        result.tickets,
    ) % {"tickets": result.tickets, "region": region, "changed": result.changed_deadlines}
    messages.info(request, message)


@admin.register(PlanTarget)
class PlanTargetAdmin(StaffAccessMixin, admin.ModelAdmin[PlanTarget]):
    list_display = (
        "__str__",
        "response_minutes",
        "response_clock",
        "response_outside_hours_minutes",
        "response_outside_hours_clock",
        "resolution_minutes",
        "resolution_clock",
    )
    list_editable = list_display[1:]
    list_filter = ("plan",)
    list_select_related = ("plan",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- the ticket list ---------------------------------------------------------------------


def _due_between(start: datetime.datetime, end: datetime.datetime | None) -> Q:
    """Active tickets whose running deadline (response, then resolution) is in [start, end)."""
    response = Q(first_response_at__isnull=True, response_due_at__gte=start)
    resolution = Q(first_response_at__isnull=False, resolution_due_at__gte=start)
    if end is not None:
        response &= Q(response_due_at__lt=end)
        resolution &= Q(resolution_due_at__lt=end)
    return response | resolution


class SlaFilter(admin.SimpleListFilter):
    title = _("SLA")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [
            ("breached", _("breached")),
            ("hour", _("due within 1 hour")),
            ("today", _("due today")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in {"breached", "hour", "today"}:
            return queryset
        now = timezone.now()
        if self.value() == "breached":  # the one rule, as the API's ?breached=true
            breached: QuerySet[Any] = queryset.filter(breached_q(now))
            return breached
        running = queryset.filter(status__in=ACTIVE_STATUSES, excluded=False)
        if self.value() == "hour":
            end = now + datetime.timedelta(hours=1)
        else:  # until midnight in the admin's time zone
            today = timezone.localdate(now)
            end = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
            end += datetime.timedelta(days=1)
        return running.filter(_due_between(now, end), paused_since=None)


class SlaTicketMixin(admin.ModelAdmin[Ticket]):
    """What the sla app adds to the ticket admin: the SLA column (sorted by the running
    deadline) and filter, the organization's time zone and the ticket page's SLA header.
    escalation.admin composes the registered ticket admin from this and tickets.admin."""

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        return (*super().get_list_display(request), "sla_countdown")

    def get_list_filter(self, request: HttpRequest) -> tuple[Any, ...]:
        return (*super().get_list_filter(request), SlaFilter)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        # The countdown reads organization.contract.region: one join, no query per row.
        return super().get_queryset(request).select_related("organization__contract")

    # tickets.desk is not annotated yet (tickets is typed separately).
    @admin.display(description=_("SLA"), ordering=desk.by_urgency())  # type: ignore[no-untyped-call]
    def sla_countdown(self, obj: Ticket) -> SafeString:
        return badge(sla_status(obj))

    def ticket_timezone(self, ticket: Ticket) -> tzinfo:
        region = ticket.organization.region
        return ZoneInfo(REGIONS[region][0]) if region in REGIONS else datetime.UTC

    def sla_summary(self, ticket: Ticket) -> dict[str, Any]:
        return {
            "badge": badge(sla_status(ticket)),
            "response_breached": ticket.response_breached,
            "resolution_breached": ticket.resolution_breached,
        }


class SlaTicketAdmin(SlaTicketMixin, TicketAdmin):
    """The ticket admin with the SLA parts, for a site without the escalation app."""
