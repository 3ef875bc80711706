"""The ticket admin: the desk (changelist) and the agent's ticket page (change view).

Every change made here goes through tickets.services, so it is audited and the SLA engine
(listening on the services' signal) recomputes deadlines; nothing saves ticket fields directly.
sla.admin subclasses TicketAdmin to add its countdown column, filters, the local time zone
and the SLA header (see ticket_timezone and sla_summary), and escalation.admin adds its
inline, so the list configuration is plain tuples and the queryset is built in get_queryset.
"""

import datetime
import functools

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.admin import StaffAccessMixin
from core.errors import ServiceError
from tickets import desk, event_text, presence
from tickets.admin_lists import IndexedListMixin
from tickets.listing import DeskPaginator
from tickets.macros import macros_for
from tickets.models import (
    ACTIVE_STATUSES,
    Attachment,
    Channel,
    Comment,
    Priority,
    Ticket,
    TicketEvent,
)

from . import audit
from .desk import (
    AssigneeFilter,
    DeskActionsMixin,
    OrganizationFilter,
    RegionFilter,
    SavedViewFilter,
)
from .forms import (
    ASSIGN_TO_ME,
    REPLY_AND_WAIT,
    RESOLVE,
    TicketActionForm,
    TicketAddForm,
    TicketChangeForm,
    apply_changes,
    open_from_form,
)

COMPOSER_BUTTONS = (REPLY_AND_WAIT, RESOLVE, ASSIGN_TO_ME)


class TicketPageMixin(admin.ModelAdmin):
    """The change view as an agent workspace: header, conversation, composer, trail.

    Based on ModelAdmin so that its options are checked against ModelAdmin's types.
    """

    change_form_template = "admin/tickets/ticket/workspace.html"
    add_form_template = "admin/tickets/ticket/change_form.html"

    def ticket_timezone(self, ticket) -> datetime.tzinfo:
        """The zone the ticket's times are shown in; sla.admin answers the region's zone."""
        return datetime.UTC

    def sla_summary(self, ticket) -> dict | None:
        """The SLA header's badge and breach flags; sla.admin fills it in."""
        return None

    def workspace_context(self, request, ticket) -> dict:
        tz = self.ticket_timezone(ticket)
        events = list(ticket.events.select_related("actor").order_by("at", "id"))
        return {
            "ticket": ticket,
            "ticket_tz": tz,
            "contract": getattr(ticket.organization, "contract", None),
            "conversation": conversation(ticket),
            "sla": self.sla_summary(ticket),
            "sla_events": sla_lines(events, tz),
            "audit_lines": audit_lines(events, tz),
            "macros": macros_for(ticket, request.user, tz),
            "presence_seconds": presence.POLL_SECONDS,
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context.update(self.workspace_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        """The composer's buttons come back to the ticket, like "Save and continue"."""
        if any(name in request.POST for name in COMPOSER_BUTTONS):
            self.message_user(request, _("Saved %s.") % obj.reference, messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.presence_view))
        return [
            path("<int:object_id>/presence/", view, name="tickets_ticket_presence"),
            *super().get_urls(),
        ]

    def presence_view(self, request, object_id):
        """Polled by the ticket page: note the caller, answer who else is there or typing."""
        ticket = Ticket.objects.filter(pk=object_id).first()
        if ticket is None:
            raise Http404
        if not self.has_view_permission(request, ticket):
            raise PermissionDenied
        if request.POST.get("leaving"):
            presence.leave(ticket.pk, request.user)
            return JsonResponse({"others": []})
        typing = request.POST.get("typing") == "1"
        return JsonResponse({"others": presence.touch(ticket.pk, request.user, typing=typing)})


def audit_lines(events, tz) -> list:
    trail = [e for e in events if e.kind != TicketEvent.Kind.SLA]
    people = audit.names(trail)
    return [audit.describe(e, tz, people) for e in trail]


def sla_lines(events, tz) -> list[tuple]:
    """(event, sentence) for the SLA timeline, deadlines worded in the ticket's zone."""
    with timezone.override(tz):
        return [(e, event_text.describe(e)) for e in events if e.kind == TicketEvent.Kind.SLA]


def conversation(ticket) -> list[dict]:
    """The client's report, then every message in time order, each with its files."""
    comments = ticket.comments.select_related("author").prefetch_related("attachments")
    loose = Attachment.objects.filter(ticket=ticket, comment__isnull=True)
    items = [
        {
            "opening": True,
            "author": ticket.reporter,
            "by_staff": False,
            "at": ticket.received_at,
            "body": ticket.description,
            "internal": False,
            "channel": ticket.get_channel_display(),
            "files": list(loose),
        }
    ]
    for comment in comments:
        items.append(
            {
                "opening": False,
                "author": comment.author,
                "by_staff": comment.by_staff,
                "at": comment.created_at,
                "body": comment.body,
                "internal": comment.internal,
                "channel": comment.get_channel_display(),
                "files": list(comment.attachments.all()),
            }
        )
    return items


@functools.cache
def _priority_badge(language: str, priority: str, suggested: str | None):
    if suggested is not None:  # not triaged yet: what intake suggested, if anything
        return format_html(
            '<span class="ticket-prio ticket-prio-{} ticket-prio-untriaged" title="{}">{}</span>',
            suggested or priority,
            _("Not triaged yet"),
            _("%s suggested") % suggested if suggested else _("%s untriaged") % priority,
        )
    return format_html(
        '<span class="ticket-prio ticket-prio-{}" title="{}">{}</span>',
        priority,
        Priority(priority).label if priority in Priority.values else priority,
        priority,
    )


def priority_badge(priority: str, suggested: str | None):
    """The desk's priority cell; `suggested` is None once triaged ("" if intake had none).
    A handful of distinct badges per language, so each is built once per process."""
    return _priority_badge(get_language(), priority, suggested)


class TicketAdmin(
    IndexedListMixin, DeskActionsMixin, TicketPageMixin, StaffAccessMixin, admin.ModelAdmin
):
    form = TicketChangeForm
    add_form = TicketAddForm
    action_form = TicketActionForm

    # The seven columns that fit a 1440 px screen; sla.admin appends the SLA column.
    list_display = (
        "reference",
        "subject_cell",
        "organization_cell",
        "priority_badge",
        "status",
        "assignee",
    )
    list_display_links = ("reference", "subject_cell")
    list_filter = (
        SavedViewFilter,
        "status",
        "priority",
        # Every organization: "only those with tickets" scans the table.
        ("organization", OrganizationFilter),
        RegionFilter,
        AssigneeFilter,
        "channel",
        "feature",
        "excluded",
    )
    list_select_related = ("organization", "assignee")
    list_per_page = 50
    paginator = DeskPaginator
    # A second COUNT(*) over the whole table on every page is too slow at 100k tickets.
    show_full_result_count = False
    # Most urgent first: the running deadline, breached (in the past) first; then the rest.
    ordering = desk.most_urgent_first()
    search_fields = (
        "subject",
        "reporter__username",
        "reporter__email",
        "reporter__first_name",
        "reporter__last_name",
    )
    search_help_text = gettext_lazy(
        "Reference (CS-000123 or 123), subject, or the requester's name, username or email."
    )
    autocomplete_fields = ("organization", "reporter", "assignee")

    fieldsets = (
        (
            gettext_lazy("Triage"),
            {
                "fields": (
                    "priority",
                    "status",
                    "assignee",
                    "excluded",
                    "exclusion_reason",
                )
            },
        ),
        (
            gettext_lazy("Ticket"),
            {
                "fields": (
                    "subject",
                    "description",
                    "feature",
                    "reporter",
                    ("channel", "received_at"),
                    "suggested_priority",
                    "user_agent",
                ),
                "classes": ("collapse",),
            },
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "fields": (
                    "organization",
                    "reporter",
                    "subject",
                    "description",
                    ("priority", "feature"),
                    ("channel", "received_at"),
                )
            },
        ),
    )
    # Set only by the services (channel and times at intake, SLA fields by the sla app).
    readonly_fields = (
        "reference",
        "organization",
        "reporter",
        "channel",
        "received_at",
        "suggested_priority",
        "response_due_at",
        "resolution_due_at",
        "first_response_at",
        "resolved_at",
        "escalation_level",
        "user_agent",
    )
    inlines = ()

    def get_queryset(self, request):
        # What the desk's rows show: building the reporter and plan of 50 rows, which no
        # column reads, was a sixth of the CPU time of the page's query at 1M tickets.
        return super().get_queryset(request).select_related("organization__contract", "assignee")

    def get_object(self, request, object_id, from_field=None):
        """The ticket page's ticket, with the reporter and plan its header shows."""
        queryset = self.get_queryset(request).select_related(
            "organization__contract__plan", "reporter"
        )
        field = Ticket._meta.pk if from_field is None else Ticket._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (Ticket.DoesNotExist, ValidationError, ValueError):
            return None

    # -- list columns --

    @admin.display(description=gettext_lazy("reference"), ordering="pk")
    def reference(self, obj):
        return obj.reference

    @admin.display(description=gettext_lazy("subject"), ordering="subject")
    def subject_cell(self, obj):
        return format_html(
            '<span class="desk-subject" title="{}">{}</span>', obj.subject, obj.subject
        )

    @admin.display(description=gettext_lazy("organization"), ordering="organization__name")
    def organization_cell(self, obj):
        name = obj.organization.name
        return format_html('<span class="desk-org" title="{}">{}</span>', name, name)

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # Django renders this box through the form template engine once per row, the
        # costliest cell of the page; the markup is the same.
        label = mark_safe(  # noqa: S308 - the translation is ours, the ticket is escaped
            _("Select this object for an action - {}").format(conditional_escape(obj))
        )
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )

    @admin.display(description=gettext_lazy("priority"), ordering="priority")
    def priority_badge(self, obj):
        # "Suggested" asks for triage; a finished ticket just shows the priority it ran on.
        untriaged = obj.triaged_at is None and obj.status in ACTIVE_STATUSES
        return priority_badge(obj.priority, (obj.suggested_priority or "") if untriaged else None)

    # -- forms --

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def get_inlines(self, request, obj):
        return () if obj is None else super().get_inlines(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request  # a fresh class per call, so this never leaks across requests
        return form

    def get_changeform_initial_data(self, request):
        return {
            "channel": Channel.PHONE,
            "priority": Priority.P0,
        } | super().get_changeform_initial_data(request)

    def save_model(self, request, obj, form, change):
        """Apply the form through the services; the forms' dry run already caught refusals."""
        try:
            with transaction.atomic():
                if change:
                    data, changed = form.cleaned_data, form.changed_fields
                    files = data.get("attachments") or []
                    apply_changes(obj, data, changed, request.user, files=files)
                else:
                    obj.pk = open_from_form(form.cleaned_data, request.user).pk
                    obj._state.adding = False
        except ServiceError as error:  # a concurrent change since the dry run
            self.message_user(request, error.message, messages.ERROR)
        desk.forget_view_counts(request.user)
        if obj.pk:
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        """Comments, attachments and events are written by the services, never by a formset."""
        if formset.model in (Comment, Attachment, TicketEvent):
            formset.save(commit=False)  # records nothing changed, for the admin's change log
        else:
            super().save_formset(request, form, formset, change)
