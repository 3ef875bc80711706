import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.admin import StaffAccessMixin
from sla.admin import SlaTicketAdmin
from tickets.models import Ticket

from .models import ContractContacts, Director, EscalationEvent, EscalationRule, OnCallShift


@admin.register(EscalationRule)
class EscalationRuleAdmin(StaffAccessMixin, admin.ModelAdmin[EscalationRule]):
    list_display = ["__str__", "plan", "priority", "percent", "action"]
    list_editable = ["priority", "percent", "action"]
    list_filter = ["plan", "action"]
    list_select_related = ["plan"]


@admin.register(Director)
class DirectorAdmin(StaffAccessMixin, admin.ModelAdmin[Director]):
    """One row: the changelist opens it directly."""

    list_display = ["name", "email"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not Director.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        director = Director.load()
        return redirect(reverse("admin:escalation_director_change", args=[director.pk]))


@admin.register(OnCallShift)
class OnCallShiftAdmin(StaffAccessMixin, admin.ModelAdmin[OnCallShift]):
    list_display = ["engineer", "region", "starts_at", "ends_at", "on_call_now"]
    list_filter = ["region", "engineer"]
    list_select_related = ["engineer"]
    date_hierarchy = "starts_at"
    actions = ["copy_to_next_week"]

    @admin.display(boolean=True, description=_("on call now"))
    def on_call_now(self, obj: OnCallShift) -> bool:
        return obj.starts_at <= timezone.now() < obj.ends_at

    @admin.action(description=_("Copy the selected shifts to the following week"))
    def copy_to_next_week(self, request: HttpRequest, queryset: QuerySet[OnCallShift]) -> None:
        week = datetime.timedelta(days=7)
        OnCallShift.objects.bulk_create(
            OnCallShift(
                engineer_id=s.engineer_id,
                region=s.region,
                starts_at=s.starts_at + week,
                ends_at=s.ends_at + week,
            )
            for s in queryset
        )
        self.message_user(request, _("Shifts copied."), messages.SUCCESS)


@admin.register(EscalationEvent)
class EscalationEventAdmin(StaffAccessMixin, admin.ModelAdmin[EscalationEvent]):
    """Read-only: escalations are facts; the sweep and the request service write them."""

    list_display = [
        "ticket_reference",
        "level",
        "phase",
        "trigger",
        "role",
        "contact",
        "contact_missing",
        "fired_at",
        "notified_at",
        "notified_to",
    ]
    list_filter = ["level", "trigger", "phase", "contact_missing"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__subject", "contact_email", "reason"]
    date_hierarchy = "fired_at"

    @admin.display(description=_("ticket"), ordering="ticket_id")
    def ticket_reference(self, obj: EscalationEvent) -> str:
        return obj.ticket.reference

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        warn_missing_contacts(request)
        return super().changelist_view(request, extra_context)


MISSING = Q(support_manager__isnull=True) | Q(account_manager__isnull=True)


def warn_missing_contacts(request: HttpRequest) -> None:
    missing = ContractContacts.objects.filter(MISSING).count()
    if missing:
        messages.warning(
            request,
            _(
                "%(n)s contract(s) lack a level 1 or 2 contact: their escalations go to the "
                "support team. See “Escalation contacts check”."
            )
            % {"n": missing},
        )
    if not Director.load().email:
        messages.warning(
            request,
            _("The Worldwide Support Director has no email: level 3 goes to the support team."),
        )


class MissingContactFilter(admin.SimpleListFilter):
    title = _("contacts")
    parameter_name = "contacts"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [("missing", _("Missing a contact")), ("complete", _("Complete"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "missing":
            return queryset.filter(MISSING)
        if self.value() == "complete":
            return queryset.exclude(MISSING)
        return queryset


@admin.register(ContractContacts)
class ContactsCheckAdmin(StaffAccessMixin, admin.ModelAdmin[ContractContacts]):
    """Which organizations would escalate to the support team for lack of a named contact."""

    list_display = [
        "organization",
        "plan",
        "region",
        "support_manager",
        "account_manager",
        "contacts_ok",
    ]
    list_filter = [MissingContactFilter, "plan", "region"]
    list_select_related = ["organization", "plan", "support_manager", "account_manager"]
    fields = ["organization", "support_manager", "account_manager"]
    readonly_fields = ["organization"]
    search_fields = ["organization__name"]

    @admin.display(boolean=True, description=_("contacts set"))
    def contacts_ok(self, obj: ContractContacts) -> bool:
        return bool(obj.support_manager_id and obj.account_manager_id)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        warn_missing_contacts(request)
        return super().changelist_view(request, extra_context)


EVENT_FIELDS = ("level", "phase", "trigger", "role", "contact", "reason", "fired_at", "notified_at")


class EscalationEventInline(StaffAccessMixin, admin.TabularInline[EscalationEvent, Any]):
    model = EscalationEvent
    extra = 0
    can_delete = False
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    ordering = ["fired_at", "level"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EscalationTicketMixin(admin.ModelAdmin[Ticket]):
    """What the escalation app adds to the ticket page: its escalation history."""

    inlines = [EscalationEventInline]


@admin.register(Ticket)
# tickets.admin's mixins are not annotated yet (tickets is typed separately): their class
# attributes (inlines, actions, templates) infer narrower types than ModelAdmin declares.
class DeskTicketAdmin(EscalationTicketMixin, SlaTicketAdmin):  # type: ignore[misc]
    """The ticket admin staff use, composed in one place at the top of the app chain:
    the desk and ticket page (tickets.admin), the SLA parts (sla.admin), the escalations."""
