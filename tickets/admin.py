"""The staff triage desk.

Every change made here goes through tickets.services, so it is audited and the SLA engine
(listening on the services' signal) recomputes deadlines; nothing saves ticket fields directly.
sla.admin subclasses TicketAdmin to add its countdown columns and filters, so the list
configuration is plain tuples and the queryset is built in get_queryset.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.admin import ReadOnlyMixin, StaffAccessMixin
from accounts.models import Region, User
from portal.errors import ServiceError
from portal.paging import TwoEndedPaginator

from . import services
from .admin_lists import IndexedListMixin
from .models import (
    Attachment,
    Channel,
    Comment,
    Priority,
    Ticket,
    TicketEvent,
    format_reference,
    pk_from_reference,
)

# ServiceError.field names that differ from the admin form's field names.
FORM_FIELD_FOR = {
    "reason": "exclusion_reason",
    "body": "new_comment",
    "internal": "comment_internal",
}

MAX_WARNINGS = 10


class _Rollback(Exception):
    pass


def dry_run(apply) -> None:
    """Run the services inside a savepoint that is always rolled back; ServiceError escapes.

    Lets a form report what the services would refuse before the admin saves anything.
    """
    try:
        with transaction.atomic():
            apply()
            raise _Rollback
    except _Rollback:
        pass


def add_service_error(form, error: ServiceError) -> None:
    name = FORM_FIELD_FOR.get(error.field, error.field)
    form.add_error(name if name in form.fields else None, error.message)


# --- forms -------------------------------------------------------------------------------


def apply_changes(ticket, data: dict, changed: set, actor) -> None:
    """Turn an edited change form into service calls, in an order where each one makes sense.

    Details and exclusion first, then triage (which may open a new ticket), the assignee, the
    reply (so "reply and resolve" counts the reply as the first response), the status last.
    """
    details = {
        name: data[name] for name in ("subject", "description", "feature") if name in changed
    }
    if details:
        services.update_details(ticket, actor=actor, **details)
    if changed & {"excluded", "exclusion_reason"}:
        services.set_exclusion(
            ticket,
            excluded=data.get("excluded", False),
            reason=data.get("exclusion_reason", ""),
            actor=actor,
        )
    if "priority" in changed:
        services.triage(ticket, priority=data["priority"], actor=actor)
    if "assignee" in changed:
        services.assign(ticket, assignee=data["assignee"], actor=actor)
    if (data.get("new_comment") or "").strip():
        services.add_comment(
            ticket,
            author=actor,
            body=data["new_comment"],
            internal=bool(data.get("comment_internal")),
        )
    if "status" in changed:
        services.set_status(ticket, status=data["status"], actor=actor)


class TicketChangeForm(forms.ModelForm):
    new_comment = forms.CharField(
        label=gettext_lazy("New reply"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text=gettext_lazy("Sent to the client unless “Internal note” is ticked."),
    )
    comment_internal = forms.BooleanField(
        label=gettext_lazy("Internal note"),
        required=False,
        help_text=gettext_lazy("Visible to support staff only; not a response to the client."),
    )

    request = None  # set per request by TicketAdmin.get_form

    class Meta:
        model = Ticket
        # What staff may edit; everything else is set by the services (see readonly_fields).
        fields = (
            "subject",
            "description",
            "feature",
            "priority",
            "status",
            "assignee",
            "excluded",
            "exclusion_reason",
        )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            changed = set(self.changed_data)
            try:
                dry_run(lambda: apply_changes(self.instance, cleaned, changed, self.request.user))
            except ServiceError as error:
                add_service_error(self, error)
        return cleaned


class TicketAddForm(forms.ModelForm):
    """A call logged by staff (the 24/7 phone line), or any report received outside the portal."""

    request = None  # set per request by TicketAdmin.get_form

    class Meta:
        model = Ticket
        fields = (
            "organization",
            "reporter",
            "subject",
            "description",
            "priority",
            "feature",
            "channel",
            "received_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "received_at" in self.fields:
            self.fields["received_at"].required = False
            self.fields["received_at"].help_text = _(
                "When the call came in; leave empty for now. Never in the future."
            )

    def clean(self):
        cleaned = super().clean()
        org, reporter = cleaned.get("organization"), cleaned.get("reporter")
        if org and reporter and reporter.organization_id != org.pk:
            self.add_error("reporter", _("This person is not a member of %s.") % org)
        if not self.errors:
            try:
                dry_run(lambda: open_from_form(cleaned, self.request.user))
            except ServiceError as error:
                add_service_error(self, error)
        return cleaned


def open_from_form(data: dict, actor) -> Ticket:
    return services.open_ticket(
        organization=data["organization"],
        reporter=data.get("reporter"),
        subject=data.get("subject", ""),
        description=data.get("description", ""),
        priority=data.get("priority") or None,
        feature=data.get("feature") or None,
        channel=data.get("channel") or Channel.PHONE,
        received_at=data.get("received_at"),
        actor=actor,
    )


class TicketActionForm(helpers.ActionForm):
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        choices=[("", "---------"), *Priority.choices],
        required=False,
        help_text=gettext_lazy("For “Set priority”."),
    )


# --- list filters ------------------------------------------------------------------------


class RegionFilter(admin.SimpleListFilter):
    title = gettext_lazy("region")
    parameter_name = "region"

    def lookups(self, request, model_admin):
        return Region.choices

    def queryset(self, request, queryset):
        if self.value() in Region.values:
            return queryset.filter(organization__contract__region=self.value())
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = gettext_lazy("assignee")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        staff = User.objects.filter(is_staff=True, is_active=True).order_by("username")
        return [
            ("me", _("Me")),
            ("none", _("Unassigned")),
            *((str(user.pk), user.get_username()) for user in staff.only("pk", "username")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


# --- inlines -----------------------------------------------------------------------------


class CommentInline(ReadOnlyMixin, admin.TabularInline):
    model = Comment
    verbose_name = gettext_lazy("message")
    verbose_name_plural = gettext_lazy("conversation")
    fields = ("created_at", "author", "kind", "message")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    @admin.display(description=gettext_lazy("type"))
    def kind(self, obj):
        return comment_badge(obj)

    @admin.display(description=gettext_lazy("message"))
    def message(self, obj):
        css = "ticket-note" if obj.internal else "ticket-reply"
        return format_html('<div class="{}">{}</div>', css, linebreaksbr(obj.body))


class AttachmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Attachment
    fields = ("download", "content_type", "size", "internal", "uploaded_by", "created_at")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description=gettext_lazy("file"))
    def download(self, obj):
        # Served by the portal's download view, which applies the tenancy guard.
        return format_html('<a href="/attachments/{}/">{}</a>', obj.pk, obj.filename)


class TicketEventInline(ReadOnlyMixin, admin.TabularInline):
    model = TicketEvent
    verbose_name_plural = gettext_lazy("audit trail")
    fields = ("at", "actor", "kind", "action", "field", "change", "note", "public")
    readonly_fields = fields
    ordering = ("at", "id")
    extra = 0
    classes = ("collapse",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=gettext_lazy("old → new"))
    def change(self, obj):
        return event_change(obj)


def _snapshot(ticket) -> dict:
    """The row's values, to tell whether a service call changed anything."""
    return {
        f.attname: getattr(ticket, f.attname)
        for f in ticket._meta.concrete_fields
        if f.name not in ("updated_at", "search_vector")
    }


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


# --- the ticket admin --------------------------------------------------------------------


@admin.register(Ticket)
class TicketAdmin(IndexedListMixin, StaffAccessMixin, admin.ModelAdmin):
    form = TicketChangeForm
    add_form = TicketAddForm
    action_form = TicketActionForm

    list_display = (
        "reference",
        "subject",
        "organization",
        "priority_badge",
        "status",
        "assignee",
        "received_at",
        "channel",
    )
    list_display_links = ("reference", "subject")
    list_filter = (
        "status",
        "priority",
        "organization",  # every organization: "only those with tickets" scans the table
        RegionFilter,
        AssigneeFilter,
        "channel",
        "feature",
        "excluded",
    )
    list_select_related = ("organization", "assignee")
    list_per_page = 50
    paginator = TwoEndedPaginator
    # A second COUNT(*) over the whole table on every page is too slow at 100k tickets.
    show_full_result_count = False
    ordering = ("-received_at",)
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
    actions = ("assign_to_me", "set_priority", "start_diagnosis", "resolve")

    fieldsets = (
        (
            gettext_lazy("Ticket"),
            {
                "fields": (
                    "reference",
                    "subject",
                    "description",
                    "feature",
                    ("organization", "reporter"),
                    ("channel", "received_at"),
                )
            },
        ),
        (
            gettext_lazy("Triage"),
            {
                "fields": (
                    ("priority", "suggested_priority"),
                    ("status", "assignee"),
                    "excluded",
                    "exclusion_reason",
                )
            },
        ),
        (
            gettext_lazy("SLA"),
            {
                "fields": (
                    ("response_due_at", "first_response_at"),
                    ("resolution_due_at", "resolved_at"),
                    "escalation_level",
                    "user_agent",
                )
            },
        ),
        (gettext_lazy("Reply"), {"fields": ("new_comment", "comment_internal")}),
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
    inlines = (CommentInline, AttachmentInline, TicketEventInline)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "assignee", "reporter")

    # -- list columns --

    @admin.display(description=gettext_lazy("reference"), ordering="pk")
    def reference(self, obj):
        return obj.reference

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # Django renders this box through the form template engine once per row, the
        # costliest cell of the page; the markup is the same.
        label = format_html(_("Select this object for an action - {}"), obj)
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )

    @admin.display(description=gettext_lazy("priority"), ordering="priority")
    def priority_badge(self, obj):
        if obj.triaged_at is None:
            suggested = obj.suggested_priority
            return format_html(
                '<span class="ticket-prio ticket-prio-{} ticket-prio-untriaged" title="{}">'
                "{}</span>",
                suggested or obj.priority,
                _("Not triaged yet"),
                _("%s suggested") % suggested if suggested else _("%s untriaged") % obj.priority,
            )
        return format_html(
            '<span class="ticket-prio ticket-prio-{}" title="{}">{}</span>',
            obj.priority,
            obj.get_priority_display(),
            obj.priority,
        )

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
                    data, changed = form.cleaned_data, set(form.changed_data)
                    apply_changes(obj, data, changed, request.user)
                else:
                    obj.pk = open_from_form(form.cleaned_data, request.user).pk
                    obj._state.adding = False
        except ServiceError as error:  # a concurrent change since the dry run
            self.message_user(request, error.message, messages.ERROR)
        if obj.pk:
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        """Comments, attachments and events are written by the services, never by a formset."""
        if formset.model in (Comment, Attachment, TicketEvent):
            formset.save(commit=False)  # records nothing changed, for the admin's change log
        else:
            super().save_formset(request, form, formset, change)

    # -- actions --

    def _bulk(self, request, queryset, label, service):
        """Call a service per ticket; report how many changed and each refusal as a warning."""
        changed = total = 0
        refusals = []
        for ticket in queryset.select_related(None):
            total += 1
            before = _snapshot(ticket)
            try:
                after = service(ticket)
            except ServiceError as error:
                refusals.append(f"{ticket.reference}: {error.message}")
                continue
            changed += _snapshot(after) != before
        self.message_user(
            request,
            ngettext(
                "%(action)s: %(changed)d of %(total)d ticket changed.",
                "%(action)s: %(changed)d of %(total)d tickets changed.",
                total,
            )
            % {"action": label, "changed": changed, "total": total},
            messages.SUCCESS if changed else messages.INFO,
        )
        for refusal in refusals[:MAX_WARNINGS]:
            self.message_user(request, refusal, messages.WARNING)
        if len(refusals) > MAX_WARNINGS:
            more = len(refusals) - MAX_WARNINGS
            self.message_user(request, _("…and %d more refused.") % more, messages.WARNING)

    @admin.action(description=gettext_lazy("Assign to me"), permissions=("change",))
    def assign_to_me(self, request, queryset):
        user = request.user
        self._bulk(
            request,
            queryset,
            _("Assign to me"),
            lambda t: services.assign(t, assignee=user, actor=user),
        )

    @admin.action(
        description=gettext_lazy("Set priority (chosen beside the action)"),
        permissions=("change",),
    )
    def set_priority(self, request, queryset):
        priority = request.POST.get("priority", "")
        if priority not in Priority.values:
            self.message_user(
                request, _("Choose a priority beside the action, then run it."), messages.ERROR
            )
            return
        user = request.user
        self._bulk(
            request,
            queryset,
            _("Set priority %s") % priority,
            lambda t: services.triage(t, priority=priority, actor=user),
        )

    @admin.action(description=gettext_lazy("Start diagnosis"), permissions=("change",))
    def start_diagnosis(self, request, queryset):
        user = request.user
        self._bulk(
            request,
            queryset,
            _("Start diagnosis"),
            lambda t: services.start_diagnosis(t, actor=user),
        )

    @admin.action(description=gettext_lazy("Resolve"), permissions=("change",))
    def resolve(self, request, queryset):
        user = request.user
        self._bulk(request, queryset, _("Resolve"), lambda t: services.resolve(t, actor=user))


# --- read-only lists for searching across tickets -----------------------------------------


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
        return format_reference(obj.ticket_id)


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
