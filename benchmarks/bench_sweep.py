"""Benchmark of the escalation sweep (escalation.sweep) on PostgreSQL.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice_esc \\
        python benchmarks/bench_sweep.py [--tickets 1000000] [--due 10000] [--naive 100000]

Works in its own database (the DATABASE_URL's name + "_bench_sweep"; created and migrated
if missing, its tickets reloaded on every run). Loads N open P1 tickets in one
INSERT … SELECT generate_series (not the ORM): `--due` of them overdue now (half on a
24/7 clock that breached an hour ago → level 1; half on business hours, received weeks
ago → levels 1, 2 and 3 at once, a late sweep), the others due in the coming days.
Notifications are counted, not sent (the task queue is replaced by a counter).

Prints: a sweep with nothing due (median of 20), the sweep of the due tickets
(escalations/s, queries, batches, memory), and the naive way — iterating every active
ticket through the ORM and computing its elapsed fraction in Python, as common helpdesks'
escalation commands do — timed on a `--naive` subset and extrapolated linearly to N.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The figures for the leading open-source Django helpdesk's escalation command.
BASELINE = {
    "open_tickets": 650_000,
    "nothing_due_s": 0.9,
    "escalate_10k_s": 75.0,
    "escalate_10k_queries": 74_000,
}


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/x"
        )
    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "eservice") + "_bench_sweep"
    return urlunsplit(parts._replace(path="/" + name)), name


def ensure_database(url: str, name: str) -> None:
    import psycopg

    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(n_tickets: int, n_due: int, now: datetime.datetime) -> None:
    """Organizations through the ORM (few), tickets through one SQL statement (many)."""
    from django.db import connection

    from accounts.models import Contract, Organization, Plan, User
    from sla.business_time import add_business_time
    from sla.engine import calendar_for_region

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE tickets_ticket, escalation_escalationevent, tickets_ticketevent, "
            "tickets_outboundmessage RESTART IDENTITY CASCADE"
        )
    plan = Plan.objects.get(slug="platinum")
    csm, _ = User.objects.get_or_create(
        username="bench-csm", defaults={"is_staff": True, "email": "csm@vendor.example"}
    )
    cam, _ = User.objects.get_or_create(
        username="bench-cam", defaults={"is_staff": True, "email": "cam@vendor.example"}
    )
    org_ids = []
    for i in range(50):
        org, _ = Organization.objects.get_or_create(name=f"Bench org {i}")
        Contract.objects.update_or_create(
            organization=org,
            defaults={
                "plan": plan,
                "region": "GMT",
                "support_manager": csm,
                "account_manager": cam,
                "start_date": datetime.date(2026, 1, 1),
                "end_date": datetime.date(2027, 12, 31),
            },
        )
        org_ids.append(org.pk)
    cal = calendar_for_region("GMT")
    # Business tickets received four weeks ago: 6 business hours long overdue.
    b_start = now - datetime.timedelta(days=28)
    b_due = add_business_time(cal, b_start, datetime.timedelta(hours=6))
    # 24/7 tickets: 6 clock hours, breached an hour ago.
    c_due = now - datetime.timedelta(hours=1)
    c_start = c_due - datetime.timedelta(hours=6)
    sql = """
    INSERT INTO tickets_ticket (
        subject, description, status, priority, feature, channel, organization_id,
        received_at, resolution, user_agent, excluded, exclusion_reason,
        response_due_at, response_clock, resolution_clock, paused_seconds,
        next_check_at, escalation_level, created_at, updated_at)
    SELECT
        'Bench ticket ' || g, 'Benchmark', 'open', 'P1', 'other', 'web',
        (%(orgs)s::bigint[])[1 + g %% %(n_orgs)s],
        CASE WHEN g <= %(due)s THEN CASE WHEN g %% 2 = 0 THEN %(b_start)s ELSE %(c_start)s END
             ELSE %(now)s - (g %% 3600) * interval '1 second' END,
        '', '', false, '',
        CASE WHEN g <= %(due)s THEN CASE WHEN g %% 2 = 0 THEN %(b_due)s ELSE %(c_due)s END
             ELSE %(now)s + interval '3 days' + (g %% 86400) * interval '1 second' END,
        CASE WHEN g <= %(due)s AND g %% 2 = 1 THEN 'clock' ELSE 'business' END,
        'business', 0,
        CASE WHEN g <= %(due)s THEN %(now)s - (g %% 3000) * interval '1 second'
             ELSE %(now)s + interval '2 days' + (g %% 86400) * interval '1 second' END,
        0, %(now)s, %(now)s
    FROM generate_series(1, %(n)s) AS g
    """
    with connection.cursor() as cur:
        cur.execute(
            sql,
            {
                "orgs": org_ids,
                "n_orgs": len(org_ids),
                "due": n_due,
                "n": n_tickets,
                "now": now,
                "b_start": b_start,
                "b_due": b_due,
                "c_start": c_start,
                "c_due": c_due,
            },
        )
        cur.execute("ANALYZE tickets_ticket")


def warm_up() -> None:
    """What a long-running worker has already done once: build the region's holiday table,
    load the plan's rules. Without it the first sweep pays ~0.5 s of one-off set-up."""
    from escalation.rules import current_target, rules_for
    from tickets.models import Ticket

    for pk in (1, 2):
        ticket = Ticket.objects.select_related("organization__contract").get(pk=pk)
        current_target(ticket).moment(1.5)
        rules_for(ticket.organization.contract.plan_id, ticket.priority)


def timed_sweep(now, batch_size=500):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from escalation.sweep import sweep

    with CaptureQueriesContext(connection) as ctx:
        started, cpu = time.perf_counter(), time.process_time()
        result = sweep(now=now, batch_size=batch_size)
        elapsed = time.perf_counter() - started
    timed_sweep.cpu = time.process_time() - cpu
    return result, elapsed, len(ctx.captured_queries)


def rearm(n_due: int, now) -> None:
    """Put the due tickets back as they were, to measure memory on a second identical run."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE escalation_escalationevent, tickets_ticketevent")
        cur.execute(
            "UPDATE tickets_ticket SET escalation_level = 0, response_breached_at = NULL, "
            "next_check_at = %s - (id %% 3000) * interval '1 second' WHERE id <= %s",
            [now, n_due],
        )


def naive_loop(limit: int, now) -> tuple[float, int, int]:
    """The scan-everything way: every active ticket through the ORM, fraction in Python."""
    from sla.business_time import business_time_between
    from sla.engine import calendar_for_region
    from tickets.models import ACTIVE_STATUSES, Ticket

    started = time.perf_counter()
    seen = due = 0
    tickets = (
        Ticket.objects.filter(status__in=ACTIVE_STATUSES)
        .select_related("organization__contract__plan")
        .order_by("id")[:limit]
    )
    for t in tickets.iterator(chunk_size=2000):
        seen += 1
        cal = calendar_for_region(t.organization.contract.region)
        if t.response_clock == "business":
            total = business_time_between(cal, t.received_at, t.response_due_at)
            spent = business_time_between(cal, t.received_at, now)
        else:
            total = t.response_due_at - t.received_at
            spent = now - t.received_at
        fraction = spent / total if total else 0
        if fraction >= 0.75:
            due += 1
    return time.perf_counter() - started, seen, due


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=None, help="default: 1%% of --tickets")
    parser.add_argument("--naive", type=int, default=100_000, help="naive loop subset")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    n_due = args.due if args.due is not None else args.tickets // 100

    url, name = bench_database_url()
    ensure_database(url, name)
    setup_django(url)
    import escalation.sweep as sweep_module

    queued = []
    sweep_module._queue_notifications = queued.append  # count, don't send

    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    load(args.tickets, n_due, now)
    print(
        f"loaded {args.tickets:,} open tickets ({n_due:,} due) in {time.perf_counter() - t0:.1f} s"
    )

    warm_up()
    earliest_due = now - datetime.timedelta(seconds=3000)
    empty = [timed_sweep(earliest_due - datetime.timedelta(minutes=1)) for _ in range(20)]
    empty_ms = statistics.median(e[1] for e in empty) * 1000
    print(
        f"\nnothing due: {empty_ms:.2f} ms per sweep (median of 20), "
        f"{empty[0][2]} queries  [target < 50 ms]"
    )

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result, elapsed, queries = timed_sweep(now, args.batch_size)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\n{result.tickets:,} due tickets: {elapsed:.2f} s; {result}")
    print(
        f"  {result.escalations / elapsed:,.0f} escalations/s, {result.tickets / elapsed:,.0f} "
        f"tickets/s  [target > 2,000 escalations/s]"
    )
    print(
        f"  {queries} queries in {result.batches} batches of {args.batch_size} "
        f"({queries / max(result.batches, 1):.1f} per batch, "
        f"{queries / max(result.tickets, 1):.4f} per ticket); "
        f"notification tasks queued: {len(queued)} for {sum(len(q) for q in queued):,} events"
    )
    print(
        f"  this process's CPU time: {timed_sweep.cpu:.2f} s of {elapsed:.2f} s wall "
        f"(the rest: PostgreSQL and waiting for a CPU; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"  maxrss growth during the sweep: {(rss1 - rss0) / 1024:.1f} MB")
    again, again_s, again_q = timed_sweep(now, args.batch_size)
    print(f"  second run: {again_s * 1000:.1f} ms, {again}, {again_q} queries")

    rearm(n_due, now)
    tracemalloc.start()
    timed_sweep(now, args.batch_size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  peak Python memory (tracemalloc, identical re-run): {peak / 1e6:.1f} MB  "
        f"[target < 200 MB]"
    )

    limit = min(args.naive, args.tickets)
    naive_s, seen, would = naive_loop(limit, now)
    factor = args.tickets / max(seen, 1)
    print(
        f"\nnaive loop over active tickets (ORM + Python fraction): {seen:,} tickets in "
        f"{naive_s:.2f} s ({would:,} at ≥75%)"
    )
    if factor > 1:
        print(
            f"  extrapolated linearly to {args.tickets:,}: {naive_s * factor:.1f} s per run "
            f"(measured on the first {seen:,} ids, ×{factor:.0f})"
        )
    full = naive_s * factor
    print(
        f"  ratio naive / sweep: nothing due ×{full / (empty_ms / 1000):,.0f}; "
        f"with {result.tickets:,} due ×{full / elapsed:,.1f} (the naive loop still "
        f"has to write the escalations)"
    )

    b = BASELINE
    print(
        f"\nbaseline (issue): leading open-source Django helpdesk's escalation command — "
        f"{b['nothing_due_s']} s to find nothing among {b['open_tickets']:,} open tickets; "
        f"{b['escalate_10k_s']:.0f} s and {b['escalate_10k_queries']:,} queries to escalate "
        f"10,000"
    )
    print(
        f"  this sweep: {empty_ms:.1f} ms to find nothing among {args.tickets:,}; "
        f"{elapsed:.1f} s and {queries} queries for {result.tickets:,} due tickets"
    )


if __name__ == "__main__":
    main()
