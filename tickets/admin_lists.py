"""The ticket changelist's plumbing at scale: search, sortable columns and their ordering.

Kept apart from the desk's columns and forms (tickets.admin): these methods decide what the
database does for a list page, and each answer has an index (tickets.models.LIST_INDEXES).
"""

from django.contrib.admin.views.main import ChangeList
from django.db.models import Q

from accounts.models import User

# Columns the list may be sorted by: each has an index ending on the id.
INDEXED_ORDERINGS = {"pk", "id", "priority", "received_at", "response_due_at", "resolution_due_at"}
MAX_REQUESTERS = 100


def matching_requesters(term: str) -> list[int]:
    match = Q()
    for name in ("username", "email", "first_name", "last_name"):
        match |= Q(**{f"{name}__icontains": term})
    return list(User.objects.filter(match).values_list("pk", flat=True)[:MAX_REQUESTERS])


class TicketChangeList(ChangeList):
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
        return ordering


class IndexedListMixin:
    """For the Ticket admin: one search, and sorting only where an index serves it."""

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
