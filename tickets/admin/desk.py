"""The desk: the ticket changelist's filters, saved views and bulk actions."""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import Organization, Region, User
from core.errors import ServiceError
from tickets import desk, services
from tickets.models import Priority

MAX_WARNINGS = 10


class SavedViewFilter(admin.SimpleListFilter):
    """The sidebar's saved views, each with its count (one aggregate query for all, cached
    for a few seconds: tickets.desk.cached_view_counts)."""

    title = gettext_lazy("saved views")
    parameter_name = "view"
    template = "admin/tickets/ticket/saved_views.html"

    def lookups(self, request, model_admin):
        self.counts = desk.cached_view_counts(request.user)
        return [(key, label) for key, label, _predicate in desk.SAVED_VIEWS]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("All tickets"),
            "count": None,
            "key": "all",
        }
        for key, label in self.lookup_choices:
            yield {
                "selected": self.value() == key,
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
                "count": self.counts[key],
                "key": key,
            }

    def queryset(self, request, queryset):
        if self.value() in desk.VIEW_KEYS:
            return queryset.filter(desk.view_filter(self.value(), request.user))
        return queryset


# A value no organization id takes: one query string is built with it, then split around it.
PK_SENTINEL = "9137046285193"


class OrganizationFilter(admin.RelatedFieldListFilter):
    """Every organization, as Django lists them, for a few hundred at the cost of a few:
    (id, name) pairs instead of model instances, and each link is one query string with the
    id swapped in instead of one get_query_string per organization; the items are joined in
    Python rather than by a template loop (desk_list.filter_items)."""

    template = "admin/tickets/ticket/organization_filter.html"

    def field_choices(self, field, request, model_admin):
        return list(Organization.objects.order_by("name").values_list("pk", "name"))

    def choices(self, changelist):
        if changelist.add_facets:  # counts asked for: Django's way
            yield from super().choices(changelist)
            return
        yield {
            "selected": self.lookup_val is None and not self.lookup_val_isnull,
            "query_string": changelist.get_query_string(
                remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]
            ),
            "display": _("All"),
        }
        one = changelist.get_query_string(
            {self.lookup_kwarg: PK_SENTINEL}, [self.lookup_kwarg_isnull]
        )
        before, _sentinel, after = one.partition(PK_SENTINEL)
        chosen = self.lookup_val or []
        for pk, name in self.lookup_choices:
            yield {
                "selected": str(pk) in chosen,
                "query_string": f"{before}{pk}{after}",
                "display": name,
            }


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


def _snapshot(ticket) -> dict:
    """The row's values, to tell whether a service call changed anything."""
    return {
        f.attname: getattr(ticket, f.attname)
        for f in ticket._meta.concrete_fields
        if f.name not in ("updated_at", "search_vector")
    }


class BulkOutcome:
    """What a bulk action did: how many changed, and why each other ticket did not."""

    def __init__(self):
        self.total = self.changed = 0
        self.reasons: list[str] = []

    def run(self, ticket, service) -> None:
        self.total += 1
        before = _snapshot(ticket)
        try:
            after = service(ticket)
        except ServiceError as error:
            self.reasons.append(f"{ticket.reference}: {error.message}")
            return
        if _snapshot(after) != before:
            self.changed += 1
        else:
            self.reasons.append(_("%s: already so, nothing to change.") % ticket.reference)

    @property
    def level(self) -> int:
        """Success only when every selected ticket changed; anything less is a warning."""
        if self.total and self.changed == self.total:
            return messages.SUCCESS
        return messages.WARNING


class DeskActionsMixin(admin.ModelAdmin):
    """Bulk actions of the desk; each calls a service per ticket and reports the outcome.

    Based on ModelAdmin so that its options are checked against ModelAdmin's types.
    """

    actions = ("assign_to_me", "set_priority", "start_diagnosis", "resolve")

    def _bulk(self, request, queryset, label, service):
        outcome = BulkOutcome()
        for ticket in queryset.select_related(None):
            outcome.run(ticket, service)
        desk.forget_view_counts(request.user)  # the agent sees the counts their action moved
        summary = ngettext(
            "%(action)s: %(changed)d of %(total)d ticket changed.",
            "%(action)s: %(changed)d of %(total)d tickets changed.",
            outcome.total,
        ) % {"action": label, "changed": outcome.changed, "total": outcome.total}
        self.message_user(request, summary, outcome.level)
        for reason in outcome.reasons[:MAX_WARNINGS]:
            self.message_user(request, reason, messages.WARNING)
        if len(outcome.reasons) > MAX_WARNINGS:
            more = len(outcome.reasons) - MAX_WARNINGS
            self.message_user(request, _("…and %d more unchanged.") % more, messages.WARNING)

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

    @admin.action(
        description=gettext_lazy("Resolve (with the note written beside the action)"),
        permissions=("change",),
    )
    def resolve(self, request, queryset):
        note = request.POST.get("resolution", "").strip()
        if not note:
            self.message_user(
                request,
                _("Write a resolution note beside the action: the client reads it."),
                messages.ERROR,
            )
            return
        user = request.user
        self._bulk(
            request,
            queryset,
            _("Resolve"),
            lambda t: services.resolve(t, actor=user, resolution=note),
        )
