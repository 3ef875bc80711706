"""Counts for the portal list and the desk that cost the same for 30 tickets as for 90,000:
the tabs' sizes, exact up to a cap, and the pagers' counts (exact up to PAGER_CAP rows, the
planner's estimate above; without the portal rows' unread markers).
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.utils.functional import cached_property

from core.paging import TwoEndedPaginator, capped_count

# Above this many, a tab says "1,000+": counting further reads that many more rows.
TAB_CAP = 1_000
# A pager counts at most this many rows (a filtered list's rows are scattered over the
# table: counting 10,000 of them read as many heap pages); above, "about N tickets".
PAGER_CAP = 1_000
# When the planner expects more rows than this, its estimate stands without a count.
TRUST_ESTIMATE_ABOVE = 2 * PAGER_CAP


class AtLeast(int):
    """A count that stopped at its cap: compares as the cap, reads "1,000+"."""

    def __str__(self):
        return f"{int(self):,}+"

    def __html__(self):
        return str(self)


def capped_counts(querysets: dict, cap: int | None = None) -> dict[str, int]:
    """Each queryset's row count, exact up to `cap` (AtLeast(cap) above), in one query.

    Every count reads at most cap + 1 index entries (`COUNT(*)` over a `LIMIT`), so a big
    organization's "All" costs what a small one's does.
    """
    cap = cap or TAB_CAP
    parts: list[str] = []
    params: list = []
    names: list[str] = []
    counts: dict[str, int] = {}
    for name, queryset in querysets.items():
        try:
            sql, more = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
        except EmptyResultSet:  # .none(): a user without an organization
            counts[name] = 0
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(parts)})")  # noqa: S608
        params.extend(more)
        names.append(name)
    if parts:
        db = next(iter(querysets.values())).db
        with connections[db].cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            counts.update(zip(names, cursor.fetchone(), strict=True))
    return {name: AtLeast(cap) if counts[name] > cap else counts[name] for name in querysets}


def pager_count(queryset) -> int:
    """Exact up to PAGER_CAP rows; above, a CappedCount of the planner's estimate.

    Unlike core.paging.capped_count the rows are counted in no order: a list sorted on an
    expression (the desk's running deadline) would otherwise compute and sort it for every
    counted row. And the estimate is trusted from TRUST_ESTIMATE_ABOVE rows on.
    """
    rows = queryset.order_by().values("pk")
    return capped_count(rows, PAGER_CAP, trust_estimate_above=TRUST_ESTIMATE_ABOVE)


class DeskPaginator(TwoEndedPaginator):
    @cached_property
    def count(self):
        return pager_count(self.object_list)


class ListPaginator(TwoEndedPaginator):
    """The portal list's pager: counts the rows without computing their unread markers
    (the page's 25 rows still carry them)."""

    @cached_property
    def count(self):
        return pager_count(self.object_list)
