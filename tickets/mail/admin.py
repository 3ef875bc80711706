from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import StaffAccessMixin

from .models import InboundMessage, InboundStatus
from .pipeline import process, release_held
from .redrive import STUCK_AFTER, stuck_messages

NEEDS_STAFF = (InboundStatus.FAILED, InboundStatus.QUARANTINED, InboundStatus.HELD)


class StuckFilter(admin.SimpleListFilter):
    """Stored for over a minute: the broker lost its task; beat's redrive will take it."""

    title = _("waiting")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", _("Stuck (stored over a minute)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset & stuck_messages()
        return queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ("received_at", "from_address", "subject", "status", "age", "reason", "ticket")
    list_filter = ("status", StuckFilter)
    search_fields = ("key", "from_address", "subject")
    list_select_related = ("ticket",)
    date_hierarchy = "received_at"
    actions = ("retry", "release", "discard")
    readonly_fields = [
        f.name for f in InboundMessage._meta.fields if f.name not in ("raw", "html")
    ] + ["raw_link", "html_preview"]
    exclude = ("raw", "html")

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        waiting = InboundMessage.objects.filter(status__in=NEEDS_STAFF).count()
        title = _("Inbound messages")
        if waiting:
            title = _("Inbound messages — %d failed, quarantined or held need attention") % waiting
        stuck = stuck_messages().count()
        if stuck:
            title += " · " + _("%d stuck in “stored”") % stuck
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def get_urls(self):
        raw = path(
            "<int:pk>/raw/",
            self.admin_site.admin_view(self.raw_view),
            name="mail_inboundmessage_raw",
        )
        return [raw, *super().get_urls()]

    def raw_view(self, request, pk):
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        message = get_object_or_404(InboundMessage, pk=pk)
        response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="inbound-{message.pk}.eml"'
        return response

    @admin.display(description=_("Waiting"))
    def age(self, obj):
        """How long a stored message has waited; blank once processed."""
        if obj.status != InboundStatus.STORED:
            return ""
        waited = timezone.now() - obj.received_at
        minutes = int(waited.total_seconds() // 60)
        text = _("%d min") % minutes if minutes < 120 else _("%d h") % (minutes // 60)
        return (
            format_html('<strong class="errornote">{}</strong>', text)
            if waited > STUCK_AFTER
            else text
        )

    @admin.display(description=_("Raw message"))
    def raw_link(self, obj):
        url = reverse("admin:mail_inboundmessage_raw", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download .eml"))

    @admin.display(description=_("HTML body (sanitized)"))
    def html_preview(self, obj):
        return format_html("<div>{}</div>", obj.html) if obj.html else "—"

    @admin.action(description=_("Retry processing"))
    def retry(self, request, queryset):
        done = 0
        for pk in queryset.exclude(status=InboundStatus.DONE).values_list("pk", flat=True):
            InboundMessage.objects.filter(pk=pk).update(status=InboundStatus.STORED)
            done += process(pk).status == InboundStatus.DONE
        self.message_user(
            request,
            ngettext("%d message processed.", "%d messages processed.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Release as staff reply"))
    def release(self, request, queryset):
        """A held mail from a staff address, vouched for by a colleague who read it."""
        done = 0
        for pk in queryset.filter(status=InboundStatus.HELD).values_list("pk", flat=True):
            done += release_held(pk).status == InboundStatus.DONE
        self.message_user(
            request,
            ngettext("%d message released.", "%d messages released.", done) % done,
            messages.SUCCESS,
        )

    @admin.action(description=_("Discard (keep stored, never process)"))
    def discard(self, request, queryset):
        count = queryset.exclude(status=InboundStatus.DONE).update(status=InboundStatus.DISCARDED)
        self.message_user(request, _("%d discarded.") % count, messages.SUCCESS)
