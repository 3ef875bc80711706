"""Outbound webhook throughput on PostgreSQL: emit() cost and deliveries per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice \
        python benchmarks/bench_webhooks.py [--n 10000] [--naive-n 1000]

Uses its own database (eservice_bench_webhooks on the same server, recreated and migrated) and
two local HTTP receivers in a child process (so they do not share the sender's interpreter).
Two endpoints subscribe to ticket.created; --n events make 2 × n deliveries.

Measured: queries and time per emit() (inside a transaction, as the services call it), with
and without a subscriber; then sender.deliver() batches (claim with skip-locked, pooled
keep-alive connections, 8 concurrent posts, one UPDATE and one INSERT per batch).
Baseline, same run: a naive sender that posts one delivery at a time on a fresh connection and
saves each row on its own (what a synchronous post inside the request would do).
"""

import argparse
import multiprocessing
import os
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import fresh_database  # noqa: E402 - beside this script

BENCH_DB = "eservice_bench_webhooks"
TARGET = 500.0  # deliveries/s wanted on a 2-core machine


def prepare_database() -> None:
    fresh_database(BENCH_DB)
    # Tasks queued after commit go nowhere: this script sends by calling the sender itself.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def serve(ports, counter) -> None:
    """Child process: two receivers that count what they get."""
    from webhooks.testing import Receiver

    class Counting(Receiver):
        def record(self, request):
            with counter.get_lock():
                counter.value += 1
            return 200

    receivers = [Counting(keep=False).__enter__() for _ in range(2)]
    ports.put([r.url for r in receivers])
    while True:
        time.sleep(3600)


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_tickets(n: int):
    from django.utils import timezone

    from accounts.models import Contract, Organization, Plan
    from tickets.models import Ticket

    org = Organization.objects.create(name="Bench Org")
    now = timezone.now()
    Contract.objects.create(
        organization=org,
        plan=Plan.objects.get(slug="platinum"),
        region="GMT",
        start_date=now.date(),
        end_date=now.date().replace(year=now.year + 1),
    )
    Ticket.objects.bulk_create(
        Ticket(organization=org, subject=f"Heatmap blank #{i}", description="x", received_at=now)
        for i in range(n)
    )
    return list(Ticket.objects.select_related("organization", "reporter", "assignee"))


def bench_emit(tickets, event: str) -> tuple[float, float, float, float]:
    """(queries per event, µs per emit() call, CPU µs of this process per call, µs per whole
    transaction) when each event is recorded in a transaction of its own, as services do."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from webhooks import services

    services.subscribers(event)  # warm, as the first write of a process does
    queries = 0
    for ticket in tickets[:200]:
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            services.emit(event, ticket=ticket)
        queries += len(ctx.captured_queries)
    in_emit = cpu = 0.0
    started = time.perf_counter()
    for ticket in tickets:
        with transaction.atomic():
            t0, c0 = time.perf_counter(), time.process_time()
            services.emit(event, ticket=ticket)
            in_emit += time.perf_counter() - t0
            cpu += time.process_time() - c0
    whole = time.perf_counter() - started
    n = len(tickets)
    return queries / 200, in_emit / n * 1e6, cpu / n * 1e6, whole / n * 1e6


def bench_deliver(counter, expected: int) -> tuple[float, float]:
    """(deliveries/s, sender CPU µs per delivery)."""
    from webhooks import sender

    started, cpu = time.perf_counter(), time.process_time()
    while sender.deliver(limit=500):
        pass
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert counter.value >= expected, (counter.value, expected)
    return expected / elapsed, cpu / expected * 1e6


def bench_naive(n: int) -> float:
    """One delivery at a time: a fresh connection per POST, a save per row."""
    from django.utils import timezone

    from webhooks import payloads
    from webhooks.models import WebhookDelivery

    rows = list(WebhookDelivery.objects.select_related("endpoint")[:n])
    WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(status="pending")
    started = time.perf_counter()
    for row in rows:
        raw = payloads.body(row.pk, row.payload, row.endpoint.format)
        headers = payloads.headers(row.pk, row.event, row.endpoint.secret, raw)
        request = urllib.request.Request(row.endpoint.url, data=raw, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            row.last_status_code = response.status
        row.status, row.sent_at, row.attempts = "sent", timezone.now(), row.attempts + 1
        row.save()
    return n / (time.perf_counter() - started)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--naive-n", type=int, default=1_000)
    args = parser.parse_args()
    prepare_database()

    ports, counter = multiprocessing.Queue(), multiprocessing.Value("i", 0)
    child = multiprocessing.Process(target=serve, args=(ports, counter), daemon=True)
    child.start()
    urls = ports.get(timeout=30)
    try:
        run(args, urls, counter)
    finally:
        child.terminate()


def run(args, urls, counter) -> None:
    setup_django()
    from webhooks.models import WebhookEndpoint

    tickets = make_tickets(args.n)
    print(f"{args.n} events, 2 endpoints on local HTTP receivers")
    q_none, us_none, _, _ = bench_emit(tickets[:1000], "ticket.resolved")
    print(f"emit, no subscriber:     {q_none:.2f} queries/event, {us_none:8.1f} µs/event")
    for url in urls:
        WebhookEndpoint.objects.create(url=url, events=["ticket.created"], secret="bench")
    q_two, us_two, cpu_two, us_tx = bench_emit(tickets, "ticket.created")
    print(f"emit, two subscribers:   {q_two:.2f} queries/event, {us_two:8.1f} µs/event")
    print(f"  (of which Python CPU: {cpu_two:.0f} µs; the rest is the INSERT's round trip)")
    print(f"  (whole transaction with its commit and the after-commit queueing: {us_tx:.0f} µs)")

    rate, cpu_us = bench_deliver(counter, 2 * args.n)
    naive = bench_naive(args.naive_n)
    print(f"delivered (batched):     {rate:8.0f} deliveries/s  (target ≥ {TARGET:.0f})")
    print(f"  (sender process CPU: {cpu_us:.0f} µs per delivery; load average {load()})")
    print(f"naive baseline:          {naive:8.0f} deliveries/s  ({args.naive_n} deliveries)")
    print(f"ratio:                   {rate / naive:8.1f}×")


if __name__ == "__main__":
    main()
