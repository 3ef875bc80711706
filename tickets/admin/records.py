"""Read-only lists across tickets (messages, audit events) and the macros staff edit."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import ReadOnlyMixin, StaffAccessMixin
from tickets.models import Comment, Macro, TicketEvent, format_reference, pk_from_reference


def ticket_ref(pk) -> str:
    return format_reference(pk)


def comment_badge(comment):
    if comment.internal:
        return format_html('<span class="ticket-badge ticket-badge-note">{}</span>', _("Internal"))
    return format_html('<span class="ticket-badge ticket-badge-reply">{}</span>', _("Public"))


def event_change(event) -> str:
    if not (event.old_value or event.new_value):
        return ""
    old = Truncator(event.old_value or "∅").chars(60)
    new = Truncator(event.new_value or "∅").chars(60)
    return f"{old} → {new}"


class TicketReferenceSearchMixin:
    """Search by the ticket's reference ("CS-000123") or number, then by search_fields."""

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        pk = pk_from_reference(term) or (int(term) if term.isdigit() and len(term) <= 12 else None)
        if pk:
            return queryset.filter(ticket_id=pk), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket_id")
    def ticket_reference(self, obj):
        return ticket_ref(obj.ticket_id)


@admin.register(Comment)
class CommentAdmin(TicketReferenceSearchMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("ticket_reference", "created_at", "author", "kind", "excerpt", "channel")
    list_filter = ("internal", "channel")
    list_select_related = ("author",)
    search_fields = ("body", "author__username", "author__email")
    search_help_text = gettext_lazy("Ticket reference or number, message text, or author.")
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = ("ticket", "created_at", "author", "internal", "channel", "message_id", "body")

    @admin.display(description=gettext_lazy("type"), ordering="internal")
    def kind(self, obj):
        return comment_badge(obj)

    @admin.display(description=gettext_lazy("message"))
    def excerpt(self, obj):
        return Truncator(obj.body).chars(100)


@admin.register(TicketEvent)
class TicketEventAdmin(TicketReferenceSearchMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "ticket_reference",
        "at",
        "actor",
        "kind",
        "action",
        "field",
        "change",
        "public",
    )
    list_filter = ("kind", "action", "public")
    list_select_related = ("actor",)
    search_fields = ("note",)
    search_help_text = gettext_lazy("Ticket reference or number, or text in the note.")
    ordering = ("-at", "-id")
    show_full_result_count = False

    @admin.display(description=gettext_lazy("old → new"))
    def change(self, obj):
        return event_change(obj)


@admin.register(Macro)
class MacroAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "language",
        "internal",
        "set_status",
        "set_priority",
        "assign_to_me",
        "active",
        "position",
    )
    list_editable = ("active", "position")
    list_filter = ("language", "active", "internal")
    search_fields = ("title", "body")
    fieldsets = (
        (None, {"fields": ("title", "language", "body", "internal")}),
        (
            gettext_lazy("Changes applied with the message"),
            {"fields": ("set_status", "set_priority", "assign_to_me")},
        ),
        (None, {"fields": ("active", "position")}),
    )
