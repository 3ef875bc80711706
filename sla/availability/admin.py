"""Staff admin: incidents (with history), unavailability periods, credits and the SLA report."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin import StaffAccessMixin
from accounts.models import Plan, Region
from core.errors import ServiceError
from tickets.models import Priority

from . import charts, reports, services
from .models import (
    ContractChange,
    ForceMajeurePeriod,
    Incident,
    IncidentRevision,
    MaintenanceWindow,
    PlannedInterruption,
    ServiceCredit,
)


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["started_at", "ended_at", "summary", "organizations"]

    def clean(self):
        data = super().clean()
        try:
            services.check_incident_times(data.get("started_at"), data.get("ended_at"))
        except ServiceError as error:
            raise ValidationError({error.field: error.message}) from error
        return data


class IncidentRevisionInline(StaffAccessMixin, admin.TabularInline):
    model = IncidentRevision
    extra = 0
    can_delete = False
    fields = ["at", "actor", "action", "changes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(StaffAccessMixin, admin.ModelAdmin):
    form = IncidentForm
    list_display = ["summary", "started_at", "ended_at", "ongoing", "scope"]
    list_filter = [("ended_at", admin.EmptyFieldListFilter), "organizations"]
    search_fields = ["summary"]
    date_hierarchy = "started_at"
    filter_horizontal = ["organizations"]
    inlines = [IncidentRevisionInline]

    @admin.display(boolean=True, description=_("ongoing"))
    def ongoing(self, obj):
        return obj.is_open

    @admin.display(description=_("affects"))
    def scope(self, obj):
        names = [o.name for o in obj.organizations.all()]
        return ", ".join(names) if names else _("every organization")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("organizations")

    def save_model(self, request, obj, form, change):
        """Through the services, so the admin writes the same revision rows as the API."""
        data = form.cleaned_data
        values = {name: data.get(name) for name in services.INCIDENT_FIELDS}
        if change:
            saved = services.update_incident(
                obj, actor=request.user, organizations=data.get("organizations"), **values
            )
        else:
            saved = services.record_incident(
                actor=request.user, organizations=data.get("organizations") or (), **values
            )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        # Organizations were set by the service; only the (read-only) inline remains.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ["__str__", "weekday", "start_time", "end_time", "utc_offset_minutes", "active"]
    list_filter = ["active", "weekday"]
    filter_horizontal = ["organizations"]


@admin.register(PlannedInterruption)
class PlannedInterruptionAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ["summary", "start", "end", "announced_at", "excluded"]
    date_hierarchy = "start"
    filter_horizontal = ["organizations"]
    search_fields = ["summary"]

    @admin.display(boolean=True, description=_("excluded from availability"))
    def excluded(self, obj):
        return obj.announced_in_advance


@admin.register(ForceMajeurePeriod)
class ForceMajeurePeriodAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ["reason", "start", "end"]
    date_hierarchy = "start"
    filter_horizontal = ["organizations"]


@admin.register(ServiceCredit)
class ServiceCreditAdmin(StaffAccessMixin, admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False  # credits are earned (ticket resolution, month close), never typed in

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=["decision_note"])

    def _decide(self, request, queryset, verb, done_message):
        done = 0
        for credit in queryset:
            try:
                verb(credit, actor=request.user, note=credit.decision_note)
            except ServiceError as error:
                self.message_user(request, f"#{credit.pk}: {error.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Grant the selected claims (extends the contract)"))
    def grant_claims(self, request, queryset):
        self._decide(request, queryset, services.grant, _("%(count)d claim(s) granted."))

    @admin.action(description=_("Refuse the selected claims"))
    def refuse_claims(self, request, queryset):
        self._decide(request, queryset, services.refuse, _("%(count)d claim(s) refused."))

    def get_urls(self):
        report = self.admin_site.admin_view(self.compliance_view)
        return [
            path("sla-compliance/", report, name="availability_sla_compliance"),
            *super().get_urls(),
        ]

    def compliance_view(self, request):
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


def _satisfaction_tables(found: dict) -> list:
    return [
        (_("Per agent"), found["by_agent"]),
        (_("Per organization"), found["by_organization"]),
    ]


@admin.register(ContractChange)
class ContractChangeAdmin(StaffAccessMixin, admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
