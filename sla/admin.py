"""Calendars, plan targets, and the SLA column and filters of the ticket list."""

import datetime

from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffAccessMixin
from tickets.models import ACTIVE_STATUSES, Ticket

from . import engine
from .display import sla_status
from .models import BusinessCalendar, CalendarDay, PlanTarget
from .templatetags.sla_tags import badge

# Above this many active tickets in a region, a calendar edit asks staff to run the command
# instead of recomputing inside the request.
INLINE_RECOMPUTE_MAX = 500


class CalendarDayInline(StaffAccessMixin, admin.TabularInline):
    model = CalendarDay
    extra = 1
    fields = ("date", "kind", "note")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ("region", "timezone", "holiday_source", "override_count", "updated_at")
    # Time zone and holiday source follow the region (sla.calendars); staff add days below.
    readonly_fields = ("region", "timezone", "holiday_source", "version", "updated_at")
    fields = readonly_fields
    inlines = (CalendarDayInline,)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("overrides"))
    def override_count(self, obj):
        return obj.days.count()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if any(fs.has_changed() for fs in formsets):
            recompute_after_calendar_change(request, form.instance.region)


def recompute_after_calendar_change(request, region: str) -> None:
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
class PlanTargetAdmin(StaffAccessMixin, admin.ModelAdmin):
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

    def has_delete_permission(self, request, obj=None):
        return False


# --- the ticket list ---------------------------------------------------------------------


def _due_between(start, end) -> Q:
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

    def lookups(self, request, model_admin):
        return (
            ("breached", _("breached")),
            ("hour", _("due within 1 hour")),
            ("today", _("due today")),
        )

    def queryset(self, request, queryset):
        if self.value() not in {"breached", "hour", "today"}:
            return queryset
        now = timezone.now()
        if self.value() == "breached":  # the one rule, as the API's ?breached=true
            return queryset.breached(now)
        running = queryset.filter(status__in=ACTIVE_STATUSES, excluded=False)
        if self.value() == "hour":
            end = now + datetime.timedelta(hours=1)
        else:  # until midnight in the admin's time zone
            today = timezone.localdate(now)
            end = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
            end += datetime.timedelta(days=1)
        return running.filter(_due_between(now, end), paused_since=None)


try:
    from tickets.admin import TicketAdmin
except ImportError:  # pragma: no cover - tickets.admin is optional for the sla app
    TicketAdmin = None


if TicketAdmin is not None:

    class SlaTicketAdmin(TicketAdmin):
        """The ticket admin plus an SLA countdown column and SLA filters."""

        list_display = (*TicketAdmin.list_display, "sla_countdown")
        list_filter = (*TicketAdmin.list_filter, SlaFilter)

        def get_queryset(self, request):
            # The countdown reads organization.contract.region: one join, no query per row.
            return super().get_queryset(request).select_related("organization__contract")

        @admin.display(description=_("SLA"), ordering="response_due_at")
        def sla_countdown(self, obj):
            return badge(sla_status(obj))

    if admin.site.is_registered(Ticket):
        admin.site.unregister(Ticket)
    admin.site.register(Ticket, SlaTicketAdmin)
