"""Paging that costs the same at 10 thousand rows as at 10 million.

- Counts are exact only when small. The planner's estimate comes first (no row read); unless
  it expects far more than COUNT_CAP rows (ESTIMATE_ABOVE), COUNT(*) over the list's own
  query cut at COUNT_CAP + 1 rows gives the exact figure, or "10,000+" at the cap (an
  underestimate still stops there). Above that the estimate stands, shown as "10,000+".
  No page ever counts the whole table: an exact count of thousands of scattered rows costs
  as many heap reads.
- Pages past the middle read the reversed ordering from its start (TwoEndedPaginator).
- Keyset ("cursor") pages for the API: `WHERE (ordering key, id) > (last row's)`, an index
  range scan however deep the page (tickets.api.pagination).
"""

import json

from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import BooleanField, F, Func, Q, Value
from django.utils.functional import cached_property
from django.utils.translation import gettext

COUNT_CAP = 10_000
# The estimate replaces the count only when the planner expects far more rows than the cap:
# a list the planner merely guesses to be middling (a fresh table has no statistics yet) is
# counted exactly, so an API client never reads a guess where a true figure was cheap.
ESTIMATE_ABOVE = 5 * COUNT_CAP


class CappedCount(int):
    """An estimated count: arithmetic uses the estimate, the text says it is one."""

    def __str__(self):
        if self >= COUNT_CAP:
            return f"{COUNT_CAP:,}+"
        return gettext("about %s") % f"{int(self):,}"

    def __html__(self):
        return str(self)


def capped_count(queryset, cap: int | None = None, trust_estimate_above: int | None = None) -> int:
    """Exact count when small; otherwise a CappedCount holding the planner's estimate.

    The estimate stands without counting when it is above `trust_estimate_above` (by
    default the larger of ESTIMATE_ABOVE and five caps)."""
    cap = cap or COUNT_CAP
    if not hasattr(queryset, "query"):
        return len(queryset)
    guess = estimate(queryset)
    if guess > (trust_estimate_above or max(ESTIMATE_ABOVE, 5 * cap)):
        return CappedCount(guess)
    exact = queryset[: cap + 1].count()
    return exact if exact <= cap else CappedCount(max(cap + 1, guess))


def estimate(queryset) -> int:
    """The planner's row estimate for `queryset` (PostgreSQL; 0 elsewhere). No rows are read."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return 0
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # .none(), or a filter that can match nothing
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def is_exact(count: int) -> bool:
    return not isinstance(count, CappedCount)


class TwoEndedPaginator(Paginator):
    """Serves pages past the middle by reading the reversed ordering from its start.

    OFFSET makes the database walk every skipped row: the last of 4,000 pages walked 100,000
    index entries and joined each. Reversed, the last page is the first rows of an index scan
    the other way. Needs a total ordering (TicketOrdering and Ticket.Meta end on the id).
    The count is capped (capped_count): above the cap, page numbers follow the estimate, so
    the last page shows the oldest rows and pages near the end are approximate.
    """

    @cached_property
    def count(self):
        return capped_count(self.object_list)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2 or not self.object_list.ordered:
            return super().page(number)
        rows = list(self.object_list.reverse()[max(self.count - top, 0) : self.count - bottom])
        rows.reverse()
        return self._get_page(rows, number, self)


# --- keyset pages --------------------------------------------------------------------------


class RowCompare(Func):
    """`(a, b) > (x, y)`: a row comparison, which a btree index on (a, b) answers as a range."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, names, values, fields, operator):
        self.operator = operator
        refs = [F(name) for name in names]
        literals = [Value(v, output_field=f) for v, f in zip(values, fields, strict=True)]
        super().__init__(*refs, *literals)

    def as_sql(self, compiler, connection, **extra_context):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, more = compiler.compile(expression)
            parts.append(sql)
            params.extend(more)
        half = len(parts) // 2
        left, right = ", ".join(parts[:half]), ", ".join(parts[half:])
        return f"({left}) {self.operator} ({right})", params


class Keyset:
    """Pages of a queryset ordered by one column and the id, both the same direction.

    A NULL key sorts last ascending and first descending (PostgreSQL's defaults, which the
    indexes follow): the NULL rows form their own run, read by id alone.
    """

    def __init__(self, queryset, name: str, descending: bool):
        self.queryset, self.name, self.descending = queryset, name, descending
        self.field = queryset.model._meta.get_field(name)
        self.id_field = queryset.model._meta.pk

    @classmethod
    def of(cls, queryset):
        """The Keyset for `queryset`'s ordering, or None when it is not (column, id)."""
        ordering = list(queryset.query.order_by or queryset.model._meta.ordering)
        if len(ordering) != 2 or not all(isinstance(o, str) for o in ordering):
            return None
        (first, last), descending = [o.lstrip("-") for o in ordering], ordering[0][0] == "-"
        if last not in ("id", "pk") or (ordering[1][0] == "-") != descending:
            return None
        try:
            return cls(queryset, first, descending)
        except FieldDoesNotExist:
            return None

    def position(self, row) -> list:
        value = getattr(row, self.field.attname)
        return [self.field.value_to_string(row) if value is not None else None, row.pk]

    def rows(self, position, size: int, backwards: bool = False) -> tuple[list, bool]:
        """Up to `size` rows after `position` (before it when `backwards`), and if more exist."""
        descending = self.descending != backwards
        value, pk = position if position else (None, None)
        runs = [True, False] if descending else [False, True]  # is-NULL runs, in order
        if position is not None:
            runs = runs[runs.index(value is None) :]
        if not self.field.null:
            runs = [False]
        found: list = []
        for null_run in runs:
            qs = self._run(null_run, descending)
            if position is not None and (value is None) == null_run:
                qs = qs.filter(self._after(value, pk, descending))
            found += list(qs[: size + 1 - len(found)])
            if len(found) > size:
                break
        if backwards:
            found.reverse()
            return found[-size:], len(found) > size
        return found[:size], len(found) > size

    def _run(self, null_run: bool, descending: bool):
        sign = "-" if descending else ""
        qs = self.queryset.order_by(f"{sign}{self.name}", f"{sign}pk")
        if not self.field.null:
            return qs
        return qs.filter(**{f"{self.name}__isnull": null_run})

    def _after(self, value, pk, descending: bool):
        operator = "<" if descending else ">"
        if value is None:
            return Q(pk__lt=pk) if descending else Q(pk__gt=pk)
        typed = self.field.to_python(value)
        return RowCompare([self.name, "pk"], [typed, pk], [self.field, self.id_field], operator)
