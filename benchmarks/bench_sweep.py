"""Benchmark of the escalation sweep (escalation.sweep) on a copy of the 1M-ticket dataset.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice \\
        python benchmarks/bench_sweep.py [--tickets 1000000] [--due 10000] [--naive 100000]

The sweep writes, so it works on its own copy of the shared dataset (`eservice_data_1m`,
loaded once by datagen.ensure_dataset): CREATE DATABASE eservice_bench_sweep TEMPLATE
eservice_data_1m, dropped and made again on every run. In the copy, `--due` of the newest
closed tickets are re-opened as P1 and made due now: half on a 24/7 clock that breached an
hour ago (→ level 1), half on business hours, received four weeks ago (→ levels 1, 2 and 3 at
once, a late sweep). The dataset's own open tickets that are due are swept as well.
No task is queued: the sweep's `notify` hook collects each batch's event ids, and the
notices are then written here by the task's own code (escalation.services.notify_events, as
a worker would), timed on their own.

Prints: a sweep with nothing due (median of 20), the sweep of the due tickets (escalations/s,
queries, batches, memory), the notices' fanout after it (outbox rows/s) and the two together,
and two named baselines measured in the same run on the same due tickets (re-armed):
"in-transaction sweep" — the notices written inside each batch's transaction
(sweep(notices_inline=True): the default, ESCALATION_NOTICES_INLINE=true, and what the sweep
did before; the timed sweep above is the after-commit option) — and "naive", iterating every active
ticket through the ORM and computing its elapsed fraction in Python as common helpdesks'
escalation commands do, timed on a `--naive` subset and extrapolated linearly; with the
ratios. The outbox row counts of the two sweeps are compared: they must be equal.

A third named baseline, "pre-change": the in-transaction sweep with the code before the
outbox rows became plain rows bound in binary (sweep_previous.py beside this script: a
Notification instance per row, every set-based write through Django's client-binding
cursor), on the same due tickets (re-armed), against the in-transaction sweep as it is. Its
outbox rows must match the current code's: the same count and the same recipients, kinds,
categories, languages, data and ticket of each row (a digest over those columns), unique
message ids.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402
import sweep_previous  # noqa: E402 - beside this script

COPY = "eservice_bench_sweep"
TARGET_ESCALATIONS_PER_S = 2_000
# The issue's figures for the leading open-source Django helpdesk's escalation command.
ISSUE = {"open_tickets": 650_000, "nothing_due_s": 0.9, "escalate_10k_s": 75.0}


def copy_dataset(tickets: int, copy: str = COPY) -> None:
    """A fresh copy of the shared dataset, made from it as a template (it must be idle)."""
    import psycopg
    from django.conf import settings
    from django.db import connections
    from psycopg import sql

    source = datagen.database_name(tickets)
    url = datagen.server_url()
    if not _loaded(url, source, tickets):
        datagen.ensure_dataset(tickets)  # loads it (and migrates it) once
    if settings.configured:
        connections.close_all()
    with psycopg.connect(
        datagen.conninfo(datagen.with_database(url, "postgres")), autocommit=True
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy))
        )
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(copy), sql.Identifier(source)
        )
        for _attempt in range(60):  # another benchmark may be reading the template
            try:
                conn.execute(create)
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(5)
        else:
            sys.exit(f"{source} stayed in use; try again later")
    datagen.setup_django(datagen.with_database(url, copy))


def _loaded(url: str, source: str, tickets: int) -> bool:
    """Whether the shared dataset is there and complete, read without Django: setting
    Django up on it would migrate it, a write to a database other benchmarks read. The
    copy is migrated instead (datagen.setup_django)."""
    import psycopg

    try:
        with psycopg.connect(datagen.conninfo(datagen.with_database(url, source))) as conn:
            row = conn.execute("SELECT count(*) FROM tickets_ticket").fetchone()
    except psycopg.Error:
        return False
    return row is not None and row[0] == tickets


ARM = """
WITH chosen AS (
    SELECT t.id, c.region FROM tickets_ticket t
    JOIN accounts_contract c ON c.organization_id = t.organization_id
    WHERE t.id = ANY(%(ids)s)
)
UPDATE tickets_ticket t SET
    status = 'open', priority = 'P1', excluded = false, first_response_at = NULL,
    resolved_at = NULL, closed_at = NULL, resolution_due_at = NULL, paused_since = NULL,
    paused_seconds = 0, escalation_level = 0, response_breached_at = NULL,
    resolution_breached_at = NULL,
    received_at = CASE WHEN t.id %% 2 = 0 THEN %(b_start)s ELSE %(c_start)s END,
    response_due_at = CASE WHEN t.id %% 2 = 1 THEN %(c_due)s
        WHEN chosen.region = 'GMT' THEN %(b_due_gmt)s
        WHEN chosen.region = 'US-EST' THEN %(b_due_est)s ELSE %(b_due_pst)s END,
    response_clock = CASE WHEN t.id %% 2 = 0 THEN 'business' ELSE 'clock' END,
    next_check_at = %(now)s - (t.id %% 3000) * interval '1 second'
FROM chosen WHERE t.id = chosen.id
"""


SNAPSHOT = """
CREATE TABLE IF NOT EXISTS bench_sweep_due AS
SELECT id, escalation_level, response_breached_at, resolution_breached_at, next_check_at,
    updated_at
FROM tickets_ticket WHERE next_check_at <= %s
"""
RESTORE = """
UPDATE tickets_ticket t SET escalation_level = s.escalation_level,
    response_breached_at = s.response_breached_at,
    resolution_breached_at = s.resolution_breached_at, next_check_at = s.next_check_at,
    updated_at = s.updated_at
FROM bench_sweep_due s WHERE t.id = s.id
"""


def pick(n_due: int) -> list[int]:
    """The newest closed or resolved tickets: the ones made due."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id FROM tickets_ticket WHERE status IN ('resolved', 'closed') "
            "ORDER BY id DESC LIMIT %s",
            [n_due],
        )
        return [row[0] for row in cur.fetchall()]


def arm(ids: list[int], now: datetime.datetime) -> int:
    """Re-open these tickets as overdue P1s (see the module docstring); returns how many
    tickets are due now in all."""
    from django.db import connection

    from sla.business_time import add_business_time
    from sla.engine import calendar_for_region

    b_start = now - datetime.timedelta(days=28)
    six = datetime.timedelta(hours=6)
    params = {
        "ids": ids,
        "now": now,
        "b_start": b_start,
        "c_start": now - datetime.timedelta(hours=7),
        "c_due": now - datetime.timedelta(hours=1),
        **{
            f"b_due_{key}": add_business_time(calendar_for_region(region), b_start, six)
            for key, region in (("gmt", "GMT"), ("est", "US-EST"), ("pst", "US-PST"))
        },
    }
    with connection.cursor() as cur:
        # The dataset's own due tickets, as they were before the first sweep: every arming
        # puts back what a sweep writes of them (escalation.sweep.WRITTEN).
        cur.execute(SNAPSHOT, [now])
        cur.execute(RESTORE)
        cur.execute(
            "TRUNCATE escalation_escalationevent, tickets_ticketevent, notifications_notification"
        )
        cur.execute(ARM, params)
        # Each arming rewrites the due rows: vacuum, so every run starts from the same state.
        cur.execute("VACUUM (ANALYZE) tickets_ticket")
        cur.execute("SELECT count(*) FROM tickets_ticket WHERE next_check_at <= %s", [now])
        return cur.fetchone()[0]


def warm_up() -> None:
    """What a long-running worker has already done once: build the regions' holiday tables,
    load the plans' rules. Without it the first sweep pays the one-off set-up."""
    from escalation.rules import ticket_rules
    from sla.targets import current_target
    from tickets.models import Ticket

    for ticket in Ticket.objects.filter(next_check_at__isnull=False).select_related(
        "organization__contract"
    )[:50]:
        target = current_target(ticket)
        if target is not None:
            target.moment(1.5)
        ticket_rules(ticket)


def timed_sweep(
    now: datetime.datetime, batch_size: int, queued: list[list[int]], *, inline: bool = False
) -> tuple:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from escalation.sweep import sweep

    with CaptureQueriesContext(connection) as ctx:
        started, cpu = time.perf_counter(), time.process_time()
        result = sweep(now=now, batch_size=batch_size, notify=queued.append, notices_inline=inline)
        elapsed = time.perf_counter() - started
    return result, elapsed, len(ctx.captured_queries), time.process_time() - cpu


def timed_fanout(queued: list[list[int]]) -> tuple[int, float, float]:
    """The notices of the sweep's batches, each batch's ids as its task gets them."""
    from escalation.services import notify_events

    started, cpu = time.perf_counter(), time.process_time()
    notified = sum(notify_events(ids) for ids in queued)
    return notified, time.perf_counter() - started, time.process_time() - cpu


def outbox_rows() -> int:
    from notifications.models import Notification

    return Notification.objects.count()


# What makes two sweeps' outboxes the same: every row's columns but its id and times, and of
# its Message-ID the part before the random one (the ticket's reference), in one order.
DIGEST = """
SELECT count(*), count(DISTINCT message_id), md5(coalesce(string_agg(r, E'\\n' ORDER BY r), ''))
FROM (SELECT message_id, (split_part(message_id, '.', 1), ticket_id, kind, category, email,
    language, recipient_id, comment_id, credit_id, data, status, attempts, last_error,
    claimed_until, sent_at)::text AS r
    FROM notifications_notification) AS rows
"""


def outbox_digest() -> tuple[int, int, str, int]:
    """(rows, distinct Message-IDs, digest of the rows' columns, escalation events left
    without notified_at)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(DIGEST)
        rows, distinct, digest = cur.fetchone()
        cur.execute("SELECT count(*) FROM escalation_escalationevent WHERE notified_at IS NULL")
        return rows, distinct, digest, cur.fetchone()[0]


def naive_loop(limit: int, now: datetime.datetime) -> tuple[float, int, int]:
    """The baseline: every active ticket through the ORM, its elapsed fraction in Python."""
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
        if t.response_due_at is None or t.organization.region is None:
            continue
        cal = calendar_for_region(t.organization.region)
        if t.response_clock == "business":
            total = business_time_between(cal, t.received_at, t.response_due_at)
            spent = business_time_between(cal, t.received_at, now)
        else:
            total = t.response_due_at - t.received_at
            spent = now - t.received_at
        if total and spent / total >= 0.75:
            due += 1
    return time.perf_counter() - started, seen, due


def count_tickets() -> tuple[int, int]:
    from tickets.models import ACTIVE_STATUSES, Ticket

    return Ticket.objects.count(), Ticket.objects.filter(status__in=ACTIVE_STATUSES).count()


def report_sweep(args, due_now, result, elapsed, queries, cpu, queued) -> float:
    rate = result.escalations / elapsed
    print(
        f"\nafter-commit sweep (ESCALATION_NOTICES_INLINE=false): {result.tickets:,} due tickets "
        f"({due_now:,} due before the sweep): {elapsed:.2f} s"
    )
    print(f"  {result}")
    print(
        f"  {rate:,.0f} escalations/s, {result.tickets / elapsed:,.0f} tickets/s  "
        f"[target ≥ {TARGET_ESCALATIONS_PER_S:,} escalations/s: "
        f"{'met' if rate >= TARGET_ESCALATIONS_PER_S else 'NOT met'}]"
    )
    print(
        f"  {queries} queries in {result.batches} batches of {args.batch_size} "
        f"({queries / max(result.batches, 1):.1f} per batch, "
        f"{queries / max(result.tickets, 1):.4f} per ticket); notify hook called "
        f"{len(queued)} times for {sum(len(q) for q in queued):,} events"
    )
    print(
        f"  this process's CPU time: {cpu:.2f} s of {elapsed:.2f} s wall (the rest: PostgreSQL "
        f"and waiting for a CPU; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    return rate


def report_baseline(args, total_active, empty_ms, elapsed, result) -> None:
    limit = min(args.naive, total_active)
    naive_s, seen, would = naive_loop(limit, datetime.datetime.now(datetime.UTC))
    factor = total_active / max(seen, 1)
    full = naive_s * factor
    print(
        f"\nbaseline, same run — naive loop over the active tickets (ORM + Python fraction): "
        f"{seen:,} tickets in {naive_s:.2f} s ({would:,} at ≥75%)"
        + (f", ×{factor:.1f} → {full:.2f} s for all {total_active:,}" if factor > 1 else "")
    )
    print(
        f"  ratio naive / sweep: nothing due ×{full / (empty_ms / 1000):,.0f}; with "
        f"{result.tickets:,} due ×{full / elapsed:,.1f} (and the naive loop has yet to write "
        f"the escalations)"
    )
    print(
        f"  issue's figures for the leading open-source Django helpdesk: "
        f"{ISSUE['nothing_due_s']} s to find nothing among {ISSUE['open_tickets']:,} open "
        f"tickets, {ISSUE['escalate_10k_s']:.0f} s to escalate 10,000"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="dataset size")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=100_000, help="naive loop subset")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the sweep")
    parser.add_argument("--copy", default=COPY, help="name of the scratch copy (dropped first)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    copy_dataset(args.tickets, args.copy)
    source = datagen.database_name(args.tickets)
    print(f"copied {source} to {args.copy} in {time.perf_counter() - t0:.1f} s")
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    ids = pick(args.due)
    due_now = arm(ids, now)
    total, total_active = count_tickets()
    print(f"{total:,} tickets, {total_active:,} active, {due_now:,} due now")

    warm_up()
    queued: list[list[int]] = []
    earliest = now - datetime.timedelta(days=365 * 4)
    empty = [timed_sweep(earliest, args.batch_size, queued) for _ in range(20)]
    empty_ms = statistics.median(e[1] for e in empty) * 1000
    print(f"\nnothing due: {empty_ms:.2f} ms per sweep (median of 20), {empty[0][2]} queries")

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    result, elapsed, queries, cpu = timed_sweep(now, args.batch_size, queued)
    if args.profile:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rate = report_sweep(args, due_now, result, elapsed, queries, cpu, queued)
    print(f"  maxrss growth during the sweep: {(rss1 - rss0) / 1024:.1f} MB")
    again, again_s, again_q, _ = timed_sweep(now, args.batch_size, [])
    print(f"  second run: {again_s * 1000:.1f} ms, {again}, {again_q} queries")
    fanout_s = report_fanout(queued, result, elapsed)
    rows = outbox_rows()

    arm(ids, now)
    tracemalloc.start()
    timed_sweep(now, args.batch_size, [])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  peak Python memory (tracemalloc, identical re-run, sweep only): {peak / 1e6:.1f} MB")

    arm(ids, now)
    with_worker = report_with_worker(args, now, result.escalations)
    arm(ids, now)
    inline_rate = report_previous(args, now, rate, (elapsed + fanout_s, with_worker), rows)
    digest = outbox_digest()
    arm(ids, now)
    report_pre_change(args, now, inline_rate, digest)
    report_baseline(args, total_active, empty_ms, elapsed, result)


def report_fanout(queued: list[list[int]], result, elapsed: float) -> float:
    """The notices after the sweep, as its tasks write them; returns their time."""
    notified, fanout_s, cpu = timed_fanout(queued)
    rows = outbox_rows()
    total = elapsed + fanout_s
    print(
        f"\nnotices after the sweep (notify_events per batch, as a worker runs them): "
        f"{notified:,} events, {rows:,} outbox rows in {fanout_s:.2f} s "
        f"({rows / max(fanout_s, 1e-9):,.0f} rows/s; CPU {cpu:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"  sweep + notices one after the other in one process: {total:.2f} s, "
        f"{result.escalations / total:,.0f} escalations/s (a worker writes the notices "
        f"alongside the next sweep batch instead)"
    )
    return fanout_s


def report_with_worker(args, now: datetime.datetime, escalations: int) -> float:
    """The sweep with one worker thread (its own connection) writing each batch's notices as
    the batch commits, as a Celery worker beside beat would: until the last notice."""
    import queue
    import threading

    from django.db import connections

    from escalation.services import notify_events
    from escalation.sweep import sweep

    batches: queue.Queue[list[int] | None] = queue.Queue()
    notified = [0]

    def worker() -> None:
        try:
            while (ids := batches.get()) is not None:
                notified[0] += notify_events(ids)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    started = time.perf_counter()
    sweep(now=now, batch_size=args.batch_size, notify=batches.put, notices_inline=False)
    swept = time.perf_counter() - started
    batches.put(None)
    thread.join()
    total = time.perf_counter() - started
    print(
        f"\nsweep with one worker thread writing each batch's notices as it commits: swept in "
        f"{swept:.2f} s, last notice at {total:.2f} s ({notified[0]:,} events notified): "
        f"{escalations / total:,.0f} escalations/s notified end to end "
        f"(load average {os.getloadavg()[0]:.1f})"
    )
    return total


def report_previous(args, now, rate: float, end_to_end: tuple[float, float], rows: int) -> float:
    """The named baseline "in-transaction sweep" (the default): the notices inside each
    batch's transaction."""
    result, elapsed, queries, cpu = timed_sweep(now, args.batch_size, [], inline=True)
    previous = result.escalations / elapsed
    same = outbox_rows()
    print(
        f"\nbaseline, same run — in-transaction sweep (the default: notices in the batch's "
        f"transaction): "
        f"{result.tickets:,} tickets in {elapsed:.2f} s, {previous:,.0f} escalations/s"
    )
    print(
        f"  [target ≥ {TARGET_ESCALATIONS_PER_S:,} escalations/s: "
        f"{'met' if previous >= TARGET_ESCALATIONS_PER_S else 'NOT met'}]; "
        f"{result}; {queries} queries; CPU {cpu:.2f} s; {same:,} outbox rows "
        f"({'the same as' if same == rows else 'DIFFERENT FROM'} the after-commit path's "
        f"{rows:,}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  ratio after-commit / in-transaction: sweep ×{rate / previous:.2f}; sweep + notices "
        f"one after the other ×{elapsed / end_to_end[0]:.2f}; with one worker, to the last notice "
        f"×{elapsed / end_to_end[1]:.2f}"
    )
    return previous


def report_pre_change(args, now, inline_rate: float, digest: tuple[int, int, str, int]) -> None:
    """The named baseline "pre-change": the in-transaction sweep with the previous writes."""
    with sweep_previous.swapped():
        result, elapsed, queries, cpu = timed_sweep(now, args.batch_size, [], inline=True)
    before = result.escalations / elapsed
    theirs = outbox_digest()
    same = "the same as" if theirs[0] == digest[0] and theirs[2] == digest[2] else "DIFFERENT FROM"
    print(
        f"\nbaseline, same run — pre-change in-transaction sweep (Notification instances, "
        f"client-bound writes; sweep_previous.py): {result.tickets:,} tickets in "
        f"{elapsed:.2f} s, {before:,.0f} escalations/s; {queries} queries; CPU {cpu:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  outbox: {theirs[0]:,} rows, {theirs[1]:,} distinct Message-IDs, {same} the current "
        f"in-transaction sweep's ({digest[0]:,} rows, {digest[1]:,} distinct Message-IDs); "
        f"events left unnotified: {theirs[3]} pre-change, {digest[3]} now"
    )
    print(f"  ratio in-transaction sweep now / pre-change: ×{inline_rate / before:.2f}")


if __name__ == "__main__":
    main()
