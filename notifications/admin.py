from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Notification, OptOut, Watcher


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox: what is pending, what failed and why, and a retry action."""

    list_display = (
        "id",
        "kind",
        "email",
        "ticket",
        "status",
        "attempts",
        "next_attempt_at",
        "error",
    )
    list_filter = ("status", "kind", "category")
    search_fields = ("email", "message_id")
    list_select_related = ("ticket",)
    raw_id_fields = ("ticket", "comment", "credit", "recipient")
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ("retry",)
    show_full_result_count = False

    @admin.display(description=_("Last error"))
    def error(self, obj):
        return obj.last_error[:120]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Retry sending now"), permissions=["change"])
    def retry(self, request, queryset):
        count = services.retry(queryset)
        text = ngettext("%d notification queued again.", "%d notifications queued again.", count)
        self.message_user(request, text % count, messages.SUCCESS)


@admin.register(Watcher)
class WatcherAdmin(admin.ModelAdmin):
    list_display = ("ticket", "user", "added_by", "created_at")
    raw_id_fields = ("ticket", "user", "added_by")
    list_select_related = ("ticket", "user", "added_by")


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    """Staff preferences: a row turns a category off for an address."""

    list_display = ("email", "category", "created_at")
    list_filter = ("category",)
    search_fields = ("email",)
