"""The staff desk at scale: 100,000 tickets, most urgent first, saved views and their counts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/bench_desk.py

Uses a throwaway database on the same server (`eservice_bench_desk`, or --database NAME),
never the one named in DATABASE_URL; `--drop` removes it at the end. Tickets are loaded as in
bench_api.py (every status and priority over the past year).

Prints, per page, the median ms and the queries per request: the desk in its default order
(the running deadline), each saved view, the saved-view counts (one aggregate), and a ticket
page with 60 messages; the baseline, measured in the same run, is the desk sorted by
reference (an index scan), so the ratio shows what urgency ordering costs. Then the desk's
50 rows built by Django's stock result_list against the desk's one-pass rows, same page.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_api  # noqa: E402 - after the path set-up

CHANGELIST = "/admin/tickets/ticket/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="eservice_bench_desk")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--drop", action="store_true")
    return parser.parse_args()


def busy_ticket(staff, messages: int):
    from tickets import services
    from tickets.models import Ticket

    ticket = Ticket.objects.order_by("-pk").first()
    for i in range(messages):
        services.add_comment(ticket, author=staff, body=f"bench message {i}", internal=bool(i % 3))
    return ticket


def view_counts_ms(staff, repeat: int) -> float:
    from tickets import desk

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        desk.view_counts(staff)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rows_ms(staff, repeat: int) -> tuple[float, float]:
    """Median ms to build the first page's rows: Django's result_list, then the desk's."""
    from django.contrib import admin
    from django.contrib.admin.templatetags import admin_list
    from django.test import RequestFactory

    from tickets.models import Ticket
    from tickets.templatetags.desk_list import fast_results

    request = RequestFactory().get(CHANGELIST)
    request.user = staff
    cl = admin.site._registry[Ticket].get_changelist_instance(request)
    cl.formset = None  # set by changelist_view; the desk has no list_editable columns
    timings = []
    for build in (lambda: [list(row) for row in admin_list.results(cl)], lambda: fast_results(cl)):
        build()
        times = []
        for _ in range(repeat * 3):
            started = time.perf_counter()
            build()
            times.append((time.perf_counter() - started) * 1000)
        timings.append(statistics.median(times))
    return timings[0], timings[1]


def desk_plan() -> str:
    """The plan of the desk's first page: the urgency index should feed the LIMIT."""
    from tickets import desk
    from tickets.models import Ticket

    query = Ticket.objects.order_by(*desk.most_urgent_first(), "-pk")[:50]
    return "\n".join(query.explain().splitlines()[:6])


def main() -> None:
    args = parse_args()
    url = bench_api.bench_url(args.database)
    bench_api.ensure_database(url, args.database)
    bench_api.setup_django(url)
    from django.test import Client

    orgs = bench_api.organizations(args.organizations)
    staff = bench_api.user("bench-staff", is_staff=True, is_superuser=True)
    seconds = bench_api.bulk_load(orgs, args.tickets)
    print(f"bulk-loaded {args.tickets:,} tickets, {len(orgs)} organizations, {seconds:.1f} s")
    ticket = busy_ticket(staff, 60)

    client = Client()
    client.force_login(staff)
    pages = [
        ("baseline: desk sorted by reference", f"{CHANGELIST}?o=1"),
        ("desk, most urgent first (default)", CHANGELIST),
        ("desk sorted by SLA, reversed", f"{CHANGELIST}?o=-7"),
        ("saved view: my open tickets", f"{CHANGELIST}?view=mine"),
        ("saved view: unassigned", f"{CHANGELIST}?view=unassigned"),
        ("saved view: breaching within 1 h", f"{CHANGELIST}?view=breaching"),
        ("saved view: waiting for the client", f"{CHANGELIST}?view=waiting"),
        ("saved view: P0 out of hours", f"{CHANGELIST}?view=p0_ooh"),
        ("ticket page, 60 messages", f"{CHANGELIST}{ticket.pk}/change/"),
    ]
    rows = [(label, *bench_api.measure(client, path, args.repeat)) for label, path in pages]
    baseline = rows[0][1]
    print(f"\n{'page':<40} {'ms':>8} {'CPU ms':>8} {'queries':>8} {'status':>6} {'ratio':>6}")
    for label, wall, cpu, queries, status in rows:
        print(f"{label:<40} {wall:8.1f} {cpu:8.1f} {queries:8d} {status:6d} {wall / baseline:6.2f}")
    stock, desk_rows = rows_ms(staff, args.repeat)
    print(f"\nfirst page's 50 rows: Django's result_list {stock:.1f} ms (baseline), ", end="")
    print(f"desk one-pass rows {desk_rows:.1f} ms, ratio {desk_rows / stock:.2f}")
    counts_ms = view_counts_ms(staff, args.repeat)
    print(f"\nsaved-view counts (one aggregate query): {counts_ms:.1f} ms")
    print(f"\nplan of the desk's first page:\n{desk_plan()}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average during the run: {load} on {os.cpu_count()} CPUs")
    if args.drop:
        bench_api.drop_database(url, args.database)


if __name__ == "__main__":
    main()
