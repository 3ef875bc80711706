"""Staff admin: incidents (with history), unavailability periods, credits and the SLA report."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.admin import StaffAccessMixin
from accounts.models import Plan, Region, User
from core.errors import ServiceError
from tickets.models import Priority

from . import charts, reports, services
from .credits import Decision
from .models import (
    ContractChange,
    ForceMajeurePeriod,
    Incident,
    IncidentRevision,
    MaintenanceWindow,
    PlannedInterruption,
    ServiceCredit,
)


def staff_user(request: HttpRequest) -> User:
    """The admin's user: the admin site lets only signed-in staff in."""
    user = request.user
    assert isinstance(user, User)
    return user


class IncidentForm(forms.ModelForm[Incident]):
    class Meta:
        model = Incident
        fields = ["started_at", "ended_at", "summary", "organizations"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.check_incident_times(data.get("started_at"), data.get("ended_at"))
        except ServiceError as error:
            raise ValidationError({error.field or "__all__": error.message}) from error
        return data


class IncidentRevisionInline(StaffAccessMixin, admin.TabularInline[IncidentRevision, Any]):
    model = IncidentRevision
    extra = 0
    can_delete = False
    fields = ("at", "actor", "action", "changes")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(StaffAccessMixin, admin.ModelAdmin[Incident]):
    form = IncidentForm
    list_display = ["summary", "started_at", "ended_at", "ongoing", "scope"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter), "organizations"]
    search_fields = ["summary"]
    date_hierarchy = "started_at"
    filter_horizontal = ["organizations"]
    inlines = [IncidentRevisionInline]

    @admin.display(boolean=True, description=_("ongoing"))
    def ongoing(self, obj: Incident) -> bool:
        return obj.is_open

    @admin.display(description=_("affects"))
    def scope(self, obj: Incident) -> str:
        names = [o.name for o in obj.organizations.all()]
        return ", ".join(names) if names else str(_("every organization"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("organizations")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Through the services, so the admin writes the same revision rows as the API."""
        data = form.cleaned_data
        values = {name: data.get(name) for name in services.INCIDENT_FIELDS}
        if change:
            saved = services.update_incident(
                obj, actor=staff_user(request), organizations=data.get("organizations"), **values
            )
        else:
            saved = services.record_incident(
                actor=staff_user(request), organizations=data.get("organizations") or (), **values
            )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Organizations were set by the service; only the (read-only) inline remains.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(StaffAccessMixin, admin.ModelAdmin[MaintenanceWindow]):
    list_display = ["__str__", "weekday", "start_time", "end_time", "utc_offset_minutes", "active"]
    list_filter = ["active", "weekday"]
    filter_horizontal = ["organizations"]


@admin.register(PlannedInterruption)
class PlannedInterruptionAdmin(StaffAccessMixin, admin.ModelAdmin[PlannedInterruption]):
    list_display = ["summary", "start", "end", "announced_at", "excluded"]
    date_hierarchy = "start"
    filter_horizontal = ["organizations"]
    search_fields = ["summary"]

    @admin.display(boolean=True, description=_("excluded from availability"))
    def excluded(self, obj: PlannedInterruption) -> bool:
        return obj.announced_in_advance


@admin.register(ForceMajeurePeriod)
class ForceMajeurePeriodAdmin(StaffAccessMixin, admin.ModelAdmin[ForceMajeurePeriod]):
    list_display = ["reason", "start", "end"]
    date_hierarchy = "start"
    filter_horizontal = ["organizations"]


@admin.register(ServiceCredit)
class ServiceCreditAdmin(StaffAccessMixin, admin.ModelAdmin[ServiceCredit]):
    list_display = [
        "id",
        "organization",
        "kind",
        "subject",
        "days",
        "status",
        "breach_at",
        "claim_deadline",
        "claimed_at",
    ]
    list_filter = ["status", "kind", "organization"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "decision_note"]
    date_hierarchy = "breach_at"
    readonly_fields = [
        "organization",
        "kind",
        "ticket",
        "month",
        "days",
        "status",
        "breach_at",
        "claim_deadline",
        "claimed_at",
        "claimed_by",
        "decided_at",
        "decided_by",
        "created_at",
    ]
    fields = [*readonly_fields, "decision_note"]
    actions = ["grant_claims", "refuse_claims"]
    change_list_template = "admin/availability/servicecredit/change_list.html"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # credits are earned (ticket resolution, month close), never typed in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.save(update_fields=["decision_note"])

    def _decide(
        self,
        request: HttpRequest,
        queryset: QuerySet[ServiceCredit],
        verb: Decision,
        done_message: StrOrPromise,
    ) -> None:
        done = 0
        for credit in queryset:
            try:
                verb(credit, actor=staff_user(request), note=credit.decision_note)
            except ServiceError as error:
                self.message_user(request, f"#{credit.pk}: {error.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, str(done_message) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Grant the selected claims (extends the contract)"))
    def grant_claims(self, request: HttpRequest, queryset: QuerySet[ServiceCredit]) -> None:
        self._decide(request, queryset, services.grant, _("%(count)d claim(s) granted."))

    @admin.action(description=_("Refuse the selected claims"))
    def refuse_claims(self, request: HttpRequest, queryset: QuerySet[ServiceCredit]) -> None:
        self._decide(request, queryset, services.refuse, _("%(count)d claim(s) refused."))

    def get_urls(self) -> list[URLPattern]:
        report = self.admin_site.admin_view(self.compliance_view)
        return [
            path("sla-compliance/", report, name="availability_sla_compliance"),
            *super().get_urls(),
        ]

    def compliance_view(self, request: HttpRequest) -> HttpResponse:
        """SLA compliance per month, plan, priority and region; ?format=csv exports it."""
        try:
            month = services.parse_month(
                request.GET.get("month") or f"{services.current_month():%Y-%m}"
            )
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            month = services.current_month()
        filters = {k: request.GET.get(k, "") for k in ("plan", "priority", "region")}
        rows = reports.compliance(month, **filters)
        if request.GET.get("format") == "csv":
            response = HttpResponse(reports.as_csv(month, rows), content_type="text/csv")
            response["Content-Disposition"] = (
                f'attachment; filename="sla-compliance-{month:%Y-%m}.csv"'
            )
            return response
        query = request.GET.copy()
        query["format"] = "csv"
        context = {
            **self.admin_site.each_context(request),
            "title": _("SLA compliance"),
            "opts": self.model._meta,
            "month": month,
            "months": services.last_months(12, timezone.now())[::-1],
            "rows": rows,
            "chart": charts.grouped_bars(reports.totals_by_priority(rows)),
            "satisfaction_tables": _satisfaction_tables(reports.satisfaction(month, **filters)),
            "filters": filters,
            "plans": Plan.objects.all(),
            "priorities": Priority.choices,
            "regions": Region.choices,
            "csv_url": f"{reverse('admin:availability_sla_compliance')}?{query.urlencode()}",
        }
        return TemplateResponse(request, "admin/availability/compliance.html", context)


def _satisfaction_tables(
    found: dict[str, list[reports.SatisfactionRow]],
) -> list[tuple[StrOrPromise, list[reports.SatisfactionRow]]]:
    return [
        (_("Per agent"), found["by_agent"]),
        (_("Per organization"), found["by_organization"]),
    ]


@admin.register(ContractChange)
class ContractChangeAdmin(StaffAccessMixin, admin.ModelAdmin[ContractChange]):
    list_display = ["contract", "old_end_date", "new_end_date", "credit", "actor", "at"]
    list_select_related = ["contract__organization", "credit", "actor"]
    readonly_fields = [
        "contract",
        "credit",
        "old_end_date",
        "new_end_date",
        "reason",
        "actor",
        "at",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
