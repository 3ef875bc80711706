"""Staff screens: endpoints with their state, deliveries (retry action) and the attempt log."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from accounts.admin import ReadOnlyMixin, StaffAccessMixin

from . import guard, services
from .models import EVENTS, EndpointState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

STATE_COLOURS = {
    EndpointState.HEALTHY: "#2e7d32",
    EndpointState.FAILING: "#c62828",
    EndpointState.INACTIVE: "#757575",
}


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=pgettext_lazy("webhooks", "URL"), max_length=500, assume_scheme="https"
    )
    events = forms.MultipleChoiceField(
        label=pgettext_lazy("webhooks", "events"),
        choices=[(e, e) for e in EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        label=pgettext_lazy("webhooks", "secret"),
        required=False,
        max_length=255,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Signs every body (X-EService-Signature). Leave empty to keep the current."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "secret", "format", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            guard.check_url(url)
        except guard.Refused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url

    def clean_events(self):
        chosen = self.cleaned_data["events"]
        return [event for event in EVENTS if event in chosen]

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk:
            return self.instance.secret
        if not secret:
            raise forms.ValidationError(_("Give a secret."))
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(StaffAccessMixin, admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "format", "event_list", "state_badge", "failing_since", "created_at"]
    list_filter = ["active", "format", ("failing_since", admin.EmptyFieldListFilter)]
    search_fields = ["url"]
    readonly_fields = ["state_badge", "failing_since", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=pgettext_lazy("webhooks", "events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    @admin.display(description=pgettext_lazy("webhooks", "state"))
    def state_badge(self, obj):
        state = EndpointState(obj.state)
        return format_html(
            '<strong style="color:{}">{}</strong>', STATE_COLOURS[state], state.label
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = readonly_fields = ("at", "status_code", "latency_ms", "error")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "created_at",
    ]
    list_filter = ["status", "event", "endpoint"]
    list_select_related = ["endpoint"]
    readonly_fields = [
        "id",
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "sent_at",
        "payload",
    ]
    inlines = [AttemptInline]
    actions = ["retry_now"]
    search_fields = ["=id"]

    @admin.display(description=pgettext_lazy("webhooks", "last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.action(description=_("Retry the selected deliveries now"))
    def retry_now(self, request, queryset):
        count = services.retry(queryset.select_related(None).only("pk", "status"))
        self.message_user(
            request,
            ngettext("%d delivery queued.", "%d deliveries queued.", count) % count,
            messages.SUCCESS,
        )


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["at", "delivery", "endpoint", "event", "status_code", "latency_ms", "error"]
    list_filter = ["status_code"]
    list_select_related = ["delivery__endpoint"]
    date_hierarchy = "at"

    @admin.display(description=pgettext_lazy("webhooks", "endpoint"))
    def endpoint(self, obj):
        return obj.delivery.endpoint

    @admin.display(description=pgettext_lazy("webhooks", "event"))
    def event(self, obj):
        return obj.delivery.event
