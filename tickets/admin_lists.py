"""The ticket changelist's plumbing at scale: search, sortable columns and their ordering.

Kept apart from the desk's columns and forms (tickets.admin): these methods decide what the
database does for a list page, and each answer has an index (tickets.models.LIST_INDEXES).
"""

from django.contrib.admin import AdminSite
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, OrderBy, Q
from django.utils.functional import SimpleLazyObject

from accounts.models import User

# Columns the list may be sorted by: each has an index ending on the id.
INDEXED_ORDERINGS = {"pk", "id", "priority", "received_at", "response_due_at", "resolution_due_at"}
MAX_REQUESTERS = 100


def matching_requesters(term: str) -> list[int]:
    match = Q()
    for name in ("username", "email", "first_name", "last_name"):
        match |= Q(**{f"{name}__icontains": term})
    return list(User.objects.filter(match).values_list("pk", flat=True)[:MAX_REQUESTERS])


# What a desk row shows: the organization's name and region (the SLA column), the assignee.
ROW_RELATED = ("organization__contract", "assignee")
# Long texts no column shows; the ticket page and the bulk actions load full rows.
ROW_DEFERRED = ("description", "user_agent", "resolution")


class TicketChangeList(ChangeList):
    def get_results(self, request):
        """The page's rows with only what the columns show (not the reporter, plan or texts)."""
        self.queryset = self.queryset.select_related(None).select_related(*ROW_RELATED)
        self.queryset = self.queryset.defer(*ROW_DEFERRED)
        super().get_results(request)

    def get_ordering(self, request, queryset):
        """The chosen columns, then a tie-break on the pk in the last column's direction.

        Django appends the default ordering to a chosen column and breaks ties on -pk
        whatever the direction; (priority, -received_at, -pk) and (received_at, -pk) have no
        index, (priority, pk) and (received_at, pk) have.
        """
        ordering, seen = [], set()
        # Without the queryset's own ordering: the default would follow a chosen column.
        for field in super().get_ordering(request, queryset.order_by()):
            name = field.lstrip("-") if isinstance(field, str) else field
            if name not in seen:
                seen.add(name)
                ordering.append(field)
        if len(ordering) >= 2 and ordering[-1] in ("pk", "-pk") and isinstance(ordering[-2], str):
            ordering[-1] = "-pk" if ordering[-2].startswith("-") else "pk"
        return follow_expression(ordering)


def follow_expression(ordering: list) -> list:
    """A list sorted on the running deadline breaks ties as ticket_next_due_idx does.

    The deadline is NULL for every finished ticket: sorted descending, that run comes first
    and, tie-broken on -pk, meant sorting all of them. The index's second column in the
    same direction (then the pk) is a backward index scan instead.
    """
    if not ordering or not isinstance(ordering[0], OrderBy):
        return ordering
    if any(not _tie_break(part) for part in ordering[1:]):
        return ordering  # another column chosen after it: that column decides ties
    first = ordering[0]
    received = F("received_at").desc() if first.descending else F("received_at").asc()
    return [first, received, "-pk" if first.descending else "pk"]


def _tie_break(part) -> bool:
    if isinstance(part, str):
        return part.lstrip("-") in ("pk", "id")
    return isinstance(part, OrderBy) and part.expression == F("received_at")


class LazyAppListSite:
    """The admin site as the ticket admin's views see it: the same site, except that the
    list of every app and model (the navigation sidebar the desk does not show) is built
    only when a template reads it. Building it asks every registered admin for its
    permissions: a few queries and a tenth of the desk's time on each page."""

    def __init__(self, site):
        self._site = site

    def __getattr__(self, name):
        return getattr(self._site, name)

    def each_context(self, request):
        return AdminSite.each_context(self, request)

    def get_app_list(self, request, app_label=None):
        return SimpleLazyObject(lambda: self._site.get_app_list(request, app_label))


class IndexedListMixin:
    """For the Ticket admin: one search, sorting only where an index serves it, and no
    app list built for pages that do not show it."""

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        self.admin_site = LazyAppListSite(admin_site)

    def get_changelist(self, request, **kwargs):
        return TicketChangeList

    def get_sortable_by(self, request):
        return [name for name in self.get_list_display(request) if self._indexed(name)]

    def _indexed(self, name) -> bool:
        column = getattr(self, name, None)
        ordering = getattr(column, "admin_order_field", None) if column else name
        if ordering is not None and not isinstance(ordering, str):
            return True  # an expression: the desk's running deadline, ticket_next_due_idx
        return isinstance(ordering, str) and ordering.lstrip("-") in INDEXED_ORDERINGS

    def get_search_results(self, request, queryset, search_term):
        """Ticket search (Ticket.objects.search), plus the requester's name, username or email.

        The requesters are looked up first, so the ticket query stays one OR of indexed
        conditions; the admin's own column ordering applies, not the relevance rank.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        requesters = Q(reporter_id__in=matching_requesters(term))
        return queryset.search(term, rank=False, also=requesters), False
