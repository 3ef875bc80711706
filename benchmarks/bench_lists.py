"""Every ticket list, search, filter and ordering of the portal, the admin and the API, at
10k, 100k and 1M tickets side by side: median ms, queries, and what the database does.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/bench_lists.py \\
        [--sizes 10000 100000 1000000] [--repeat 5] [--database-prefix eservice_data]

The data comes from benchmarks/datagen.py (one database per size, `<prefix>_10k` etc., loaded
on first use, then shared; a copy made with CREATE DATABASE … TEMPLATE keeps the shared one
untouched by this branch's migrations). Requests run in-process through Django's test client
(portal and admin) and DRF's APIClient (API), after one warm-up each. For the largest size,
every query a request sends that reads `tickets_ticket` is EXPLAINed: the summary names the
access path of the ticket table (index, bitmap or SEQ scan).

Baseline, measured in the same run right after each portal and admin list: the same request
with the list machinery as it was before the capped counts (see `previous_lists()`): Django's
stock result_list for the desk rows, the saved-view counts recounted on every page, pagers
counting up to 10,000 rows (the portal's with every row's unread subqueries), the portal
tabs counting every ticket of the organization. The issue's table is printed beside it.
"""

import argparse
import contextlib
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402

TARGET_MS = 50
# The issue's "before" table: ms at 10k, 100k, 1M (None: not measured).
BASELINE = {
    "API staff ?search=heatmap": (202, 1715, None),
    "admin ?q=heatmap": (86, 450, None),
    "API staff ?ordering=response_due_at": (44, 188, 1117),
    "admin first page": (110, 111, 150),
    "portal client, open only": (35, 43, 148),
    "API staff first page": (20, 40, 64),
}
ADMIN = "/admin/tickets/ticket/"
API = "/api/v1/tickets/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per list")
    parser.add_argument("--only", default="", help="run only the lists whose label has this")
    parser.add_argument("--database-prefix", default="eservice_data")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the previous-machinery measurement"
    )
    return parser.parse_args()


# -- who asks, and what -----------------------------------------------------------------------


def personas():
    from accounts.models import User

    staff = User.objects.get(username="data-staff-00")
    client = User.objects.get(username="data-client-000-0")  # the biggest organization
    return staff, client


def requests(staff, client) -> list[tuple[str, str, str, object]]:
    """(label, channel, path, user) for every list the product offers."""
    org = client.organization_id
    lists = [
        ("portal client, open only", "web", "/", client),
        ("portal client, all", "web", "/?filtered=1", client),
        ("portal client ?q=heatmap", "web", "/?filtered=1&q=heatmap", client),
        ("portal client ?q=chargement (fr)", "web", "/?filtered=1&q=chargement", client),
        ("portal client, P1 resolved", "web", "/?filtered=1&status=resolved&priority=P1", client),
        ("portal staff, open only", "web", "/", staff),
        ("portal staff ?q=heatmap", "web", "/?filtered=1&q=heatmap", staff),
        ("portal staff, open P0", "web", "/?filtered=1&open_only=on&priority=P0", staff),
        ("admin first page", "web", ADMIN, staff),
        ("admin last page", "web", f"{ADMIN}?p=LAST", staff),
        ("admin ?q=heatmap", "web", f"{ADMIN}?q=heatmap", staff),
        ("admin ?q=data-client-000-1", "web", f"{ADMIN}?q=data-client-000-1", staff),
        ("admin ?q=CS-000777", "web", f"{ADMIN}?q=CS-000777", staff),
        ("admin ?q=overl (partial word)", "web", f"{ADMIN}?q=overl", staff),
        ("admin status=open", "web", f"{ADMIN}?status__exact=open", staff),
        ("admin priority=P0", "web", f"{ADMIN}?priority__exact=P0", staff),
        ("admin organization", "web", f"{ADMIN}?organization__id__exact={org}", staff),
        ("admin assigned=me", "web", f"{ADMIN}?assigned=me", staff),
        ("admin assigned=none", "web", f"{ADMIN}?assigned=none", staff),
        ("admin open, mine", "web", f"{ADMIN}?status__exact=open&assigned=me", staff),
        ("admin region=US-PST", "web", f"{ADMIN}?region=US-PST", staff),
        ("admin channel=phone", "web", f"{ADMIN}?channel__exact=phone", staff),
        ("admin excluded", "web", f"{ADMIN}?excluded__exact=1", staff),
        ("admin sla=breached", "web", f"{ADMIN}?sla=breached", staff),
        ("admin sla=hour", "web", f"{ADMIN}?sla=hour", staff),
        ("admin sla=today", "web", f"{ADMIN}?sla=today", staff),
        ("API staff first page", "api", API, staff),
        ("API staff next (cursor)", "api", "NEXT", staff),
        ("API staff ?page=last", "api", f"{API}?page=LAST", staff),
        ("API staff ?search=heatmap", "api", f"{API}?search=heatmap", staff),
        ("API staff ?search=replay blank", "api", f"{API}?search=replay%20blank", staff),
        ("API staff ?search=CS-000777", "api", f"{API}?search=CS-000777", staff),
        ("API staff ?status=open", "api", f"{API}?status=open", staff),
        ("API staff ?priority=P0", "api", f"{API}?priority=P0", staff),
        ("API staff ?breached=true", "api", f"{API}?breached=true", staff),
        ("API staff ?assignee=none", "api", f"{API}?assignee=none", staff),
        ("API staff open, mine", "api", f"{API}?status=new,open,pending&assignee=me", staff),
        ("API staff open P0", "api", f"{API}?status=new,open,pending&priority=P0", staff),
        ("API staff ?organization", "api", f"{API}?organization={org}", staff),
        ("API staff ?channel=phone", "api", f"{API}?channel=phone", staff),
        ("API staff ?feature=zoning", "api", f"{API}?feature=zoning", staff),
        ("API staff ?excluded=true", "api", f"{API}?excluded=true", staff),
        ("API client first page", "api", API, client),
        ("API client ?search=heatmap", "api", f"{API}?search=heatmap", client),
    ]
    for field in ("received_at", "priority", "response_due_at", "resolution_due_at"):
        for sign in ("", "-"):
            lists.append(
                (
                    f"API staff ?ordering={sign}{field}",
                    "api",
                    f"{API}?ordering={sign}{field}",
                    staff,
                )
            )
    for column in ("1", "-1", "4", "-4", "7", "-7", "9", "-9"):
        lists.append((f"admin ?o={column}", "web", f"{ADMIN}?o={column}", staff))
    return lists


# -- measuring --------------------------------------------------------------------------------


def client_for(channel: str, user):
    from django.test import Client
    from rest_framework.test import APIClient

    if channel == "api":
        api = APIClient()
        api.force_authenticate(user)
        return api
    web = Client()
    web.force_login(user)
    return web


def resolve(path: str, http) -> str:
    """Fill in the page numbers and cursor links that depend on the data."""
    if path == "NEXT":
        return http.get(API).json()["next"] or API
    if "=LAST" in path:
        response = http.get(path.split("?")[0])
        if path.startswith(API):
            last = -(-response.json()["count"] // 25)
        else:
            pages = re.findall(r"[?&;]p=(\d+)", response.content.decode())
            last = max((int(p) for p in pages), default=1)
        return path.replace("LAST", str(max(last, 1)))
    return path


def measure(http, path: str, repeat: int):
    """Median and best wall ms of `repeat` requests after a warm-up, median CPU ms of this
    process and median ms spent in the database, queries, status. On a shared machine the
    best and the CPU time show the cost when no other process holds the cores; the database
    share is the part that grows with the table if anything does."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    http.get(path)
    times, cpu, db, queries, status = [], [], [], [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            status = http.get(path).status_code
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        queries = [q["sql"] for q in captured.captured_queries]
        db.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    median = statistics.median
    return median(times), min(times), median(cpu), median(db), len(queries), status, queries


def explain(queries: list[str]) -> str:
    """How each query that reads tickets_ticket gets at it: `idx:name`, `bitmap:...`, `SEQ`."""
    from django.db import connection

    paths = []
    with connection.cursor() as cursor:
        for sql in queries:
            if '"tickets_ticket"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            found = sorted(set(_ticket_scans(plan[0]["Plan"])))
            if found:
                paths.append("+".join(found))
    return " | ".join(paths)


def _ticket_scans(node):
    relation = node.get("Relation Name")
    kind = node["Node Type"]
    if relation == "tickets_ticket":
        if kind == "Seq Scan":
            yield "SEQ"
        elif kind in ("Index Scan", "Index Only Scan"):
            yield f"idx:{_short(node['Index Name'])}"
        elif kind == "Bitmap Heap Scan":
            names = _bitmap_indexes(node)
            yield "bitmap:" + ",".join(_short(n) for n in names)
    elif kind in ("Index Scan", "Index Only Scan") and node.get("Index Name", "").startswith(
        ("ticket", "tickets_ticket")
    ):
        yield f"idx:{_short(node['Index Name'])}"
    for child in node.get("Plans", []):
        yield from _ticket_scans(child)


def _bitmap_indexes(node):
    if "Index Name" in node:
        yield node["Index Name"]
    for child in node.get("Plans", []):
        yield from _bitmap_indexes(child)


def _short(name: str) -> str:
    return re.sub(r"^(tickets_)?ticket_", "", name)


@contextlib.contextmanager
def previous_lists():
    """The portal and desk list machinery as it was before the capped counts, to measure
    the same request both ways in one run."""
    from django.contrib import admin
    from django.contrib.admin.templatetags import admin_list
    from django.db.models import Count, Q

    from core.paging import TwoEndedPaginator
    from tickets import desk, views
    from tickets.forms import TABS
    from tickets.models import Ticket
    from tickets.templatetags import desk_list

    def full_tab_counts(querysets):
        visible = querysets["all"]
        return visible.aggregate(
            **{
                name: Count("pk", filter=Q(status__in=statuses)) if statuses else Count("pk")
                for name, (_label, statuses) in TABS.items()
            }
        )

    ticket_admin = admin.site._registry[Ticket]
    saved = [
        (views, "ListPaginator", TwoEndedPaginator),
        (views, "capped_counts", full_tab_counts),
        (desk, "cached_view_counts", desk.view_counts),
        (desk_list, "fast_results", lambda cl: list(admin_list.results(cl))),
        (ticket_admin, "paginator", TwoEndedPaginator),
    ]
    before = [(owner, name, getattr(owner, name)) for owner, name, _new in saved]
    for owner, name, value in saved:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in before:
            setattr(owner, name, value)


def old_way(repeat: int) -> list[tuple[str, float, float, int]]:
    """The same data read the way the lists did before: substring search and a full COUNT."""
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    from tickets.models import Ticket

    def search():
        found = Ticket.objects.filter(
            Q(subject__icontains="heatmap") | Q(description__icontains="heatmap")
        )
        return found.count(), list(found[:25])

    def count():
        return Ticket.objects.count()

    rows = []
    for label, call in (
        ("old: ?search=heatmap (icontains + COUNT)", search),
        ("old: COUNT(*) of the list", count),
    ):
        call()
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
        rows.append((label, statistics.median(times), min(times), len(captured.captured_queries)))
    return rows


def run_size(size: int, args, results: dict, plans: dict, last: bool) -> None:
    datagen.ensure_dataset(size, f"{args.database_prefix}_{datagen.SIZE_NAMES.get(size, size)}")
    from django.core.cache import cache

    cache.clear()
    staff, client = personas()
    for label, channel, path, user in requests(staff, client):
        if args.only and args.only not in label:
            continue
        http = client_for(channel, user)
        real_path = resolve(path, http)
        ms, best, cpu, db, count, status, queries = measure(http, real_path, args.repeat)
        before = None
        if channel == "web" and not args.no_baseline:
            with previous_lists():
                cache.clear()
                before = measure(http, real_path, args.repeat)
            cache.clear()
        results.setdefault(label, {})[size] = (ms, best, db, count, status, before)
        print(
            f"  {size:>9,} {label:<40} {ms:8.1f} ms (best {best:6.1f}, cpu {cpu:6.1f},"
            f" db {db:6.1f}) {count:3d} q  {status}"
            + (f"   previous: {before[0]:8.1f} ms {before[4]:3d} q" if before else ""),
            flush=True,
        )
        if last:
            plans[label] = explain(queries)
    if not args.only:
        for label, ms, best, count in old_way(args.repeat):
            results.setdefault(label, {})[size] = (ms, best, ms, count, 200, None)
            print(
                f"  {size:>9,} {label:<40} {ms:8.1f} ms (best {best:6.1f}) {count:3d} q", flush=True
            )


def report(sizes, results: dict, plans: dict) -> None:
    head = "".join(f"{datagen.SIZE_NAMES.get(s, s) + ' median/best/db':>32}" for s in sizes)
    print(f"\n{'list':<40}{head}   target  previous (same run) at {sizes[-1]:,}   issue")
    worst = 0.0
    for label, by_size in results.items():
        cells = "".join(_cell(by_size.get(size)) for size in sizes)
        largest = by_size.get(sizes[-1], (0,))[0]
        old = label.startswith("old:")
        worst = worst if old else max(worst, largest)
        verdict = "before" if old else "ok" if largest < TARGET_MS else "SLOW"
        print(f"{label:<40}{cells}   {verdict:<6}  {_previous(by_size.get(sizes[-1]))}"
              f"  {_issue(label)}")  # fmt: skip
    print(f"\nslowest list at {sizes[-1]:,}: {worst:.1f} ms (target < {TARGET_MS} ms)")
    print(f"\nAccess paths to tickets_ticket at {sizes[-1]:,} (one entry per query reading it):")
    seq = 0
    for label, summary in plans.items():
        seq += "SEQ" in summary
        print(f"  {label:<40} {summary}")
    print(f"lists with a sequential scan of tickets_ticket: {seq}")


def _cell(row) -> str:
    if row is None:
        return f"{'—':>32}"
    ms, best, db, count, status, _before = row
    mark = "" if status == 200 else f"!{status}"
    return f"{ms:9.1f} /{best:6.1f} /{db:6.1f} ms {count:2d}q{mark}"


def _previous(row) -> str:
    """The previous machinery's median at the largest size, and how many times slower."""
    if row is None or row[5] is None:
        return f"{'':>26}"
    ms, before_ms, before_queries = row[0], row[5][0], row[5][4]
    return f"{before_ms:8.1f} ms {before_queries:2d}q ×{before_ms / ms:5.1f}"


def _issue(label: str) -> str:
    before = BASELINE.get(label)
    return "/".join("—" if b is None else str(b) for b in before) if before else ""


def main():
    args = parse_args()
    results, plans = {}, {}
    for n, size in enumerate(args.sizes):
        print(f"{size:,} tickets", flush=True)
        run_size(size, args, results, plans, last=n == len(args.sizes) - 1)
    report(args.sizes, results, plans)


if __name__ == "__main__":
    main()
