"""Notification fan-out on PostgreSQL: ticket events recorded with their outbox rows, then the
outbox delivered to a real SMTP server (aiosmtpd) and the webhook deliveries of the same events
to two endpoints on a local HTTP server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice \
        python benchmarks/bench_notifications.py [--events 10000] [--api 300]

Uses its own database (eservice_bench_notify on the same server, recreated and migrated),
an SMTP server (aiosmtpd) and the HTTP endpoints (webhooks.testing) in processes of their own.
Both endpoints subscribe to ticket.created and comment.public: every event is two deliveries.
Events: tickets opened (acknowledgement + queue notice), public staff replies (reporter and
one watcher), client replies (the watcher and the queue), all through the ticket services
one call at a time, as the portal and the API make them.
Baseline, same run: API ticket creations with the outbox consumer unregistered and
registered, in alternating rounds (what the outbox adds to a ticket write).
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import fresh_database  # noqa: E402 - beside this script

BENCH_DB = "eservice_bench_notify"
TARGET_MAILS = 300.0
TARGET_DELIVERIES = 500.0
TARGET_ADDED_QUERIES = 1
TARGET_ADDED_MS = 1.0
PEER_SYNC_MS, PEER_SYNC_QUERIES = 17.0, 20  # django-helpdesk: mail sent inside the request


def prepare_database(sink_port: int) -> None:
    fresh_database(BENCH_DB)
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink_port}"
    os.environ["NOTIFICATIONS_QUEUE_ON_COMMIT"] = "false"  # delivery measured on its own
    # Webhook tasks queued after commit go nowhere: the script calls the sender itself.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    # One bench user files hundreds of tickets: the flood limits would refuse them.
    os.environ["TICKETS_PER_USER_PER_HOUR"] = os.environ["TICKETS_PER_SENDER_PER_HOUR"] = "1000000"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def setup_django():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_people(n_orgs=30, per_org=4):
    from accounts.models import User
    from accounts.services import create_organization

    orgs = []
    for i in range(n_orgs):
        org = create_organization(
            name=f"Bench {i}",
            plan="platinum" if i % 2 else "standard",
            email_domains=[f"bench{i}.example"],
            region=["GMT", "US-EST", "US-PST"][i % 3],
        )
        users = []
        for j in range(per_org):
            user = User(
                username=f"u{i}-{j}",
                email=f"u{j}@bench{i}.example",
                organization=org,
                language="fr" if j % 2 else "en",
            )
            user.set_unusable_password()
            user.save()
            users.append(user)
        orgs.append((org, users))
    agent = User(username="agent", email="agent@vendor.example", is_staff=True)
    agent.set_unusable_password()
    agent.save()
    return orgs, agent


class QueryCounter:
    def __init__(self):
        self.count = 0
        self.outbox = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if "notifications_" in sql or "webhooks_" in sql:
            self.outbox += 1
        return execute(sql, params, many, context)


def record_events(orgs, agent, n, rng):
    """n events, one service call each; returns (seconds, queries, outbox queries)."""
    from django.db import connection

    from notifications.models import Watcher
    from tickets import services

    tickets, counter, done, elapsed = [], QueryCounter(), 0, 0.0
    while done < n:
        org, users = rng.choice(orgs)
        roll = rng.random()
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            if roll < 0.25 or len(tickets) < 50:
                ticket = services.open_ticket(
                    organization=org,
                    reporter=users[0],
                    subject=f"Heatmap blank {done}",
                    description="The heatmap stays blank.",
                )
                tickets.append((ticket, users))
            elif roll < 0.75:
                ticket, _ = rng.choice(tickets)
                services.add_comment(ticket, author=agent, body=f"Looking into it ({done}).")
            else:
                ticket, people = rng.choice(tickets)
                services.add_comment(ticket, author=people[0], body=f"Still broken ({done}).")
            elapsed += time.perf_counter() - start
        if roll < 0.25 or len(tickets) <= 50:
            Watcher.objects.get_or_create(ticket=tickets[-1][0], user=tickets[-1][1][1])
        done += 1
    return elapsed, counter.count, counter.outbox


def _deliver_in_child(batch):
    from notifications.delivery import deliver_due

    result = deliver_due(limit=batch)
    return result.sent, result.failed, result.skipped


def deliver_all(batch, procs=1):
    """Send everything due with `procs` processes (as a worker's pool would: the atomic
    claims give each process its own rows); (seconds, Result)."""
    import multiprocessing

    from django.db import connections

    from notifications.delivery import Result

    start = time.perf_counter()
    if procs == 1:
        result = Result(*_deliver_in_child(batch))
    else:
        connections.close_all()  # each process opens its own connection
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            parts = pool.map(_deliver_in_child, [batch] * procs)
        result = Result(*(sum(part[i] for part in parts) for i in range(3)))
    return time.perf_counter() - start, result


def _serve_webhooks(urls, counter) -> None:
    """Child process: two local HTTP endpoints (webhooks.testing) that count what they get."""
    from webhooks.testing import Receiver

    class Counting(Receiver):
        def record(self, request):
            with counter.get_lock():
                counter.value += 1
            return 200

    receivers = [Counting(keep=False).__enter__() for _ in range(2)]
    urls.put([r.url for r in receivers])
    while True:
        time.sleep(3600)


class WebhookSinkProcess:
    """The two webhook endpoints in a process of their own, like the SMTP sink."""

    def __enter__(self):
        import multiprocessing

        context = multiprocessing.get_context("fork")
        queue, self.counter = context.Queue(), context.Value("i", 0)
        self.proc = context.Process(target=_serve_webhooks, args=(queue, self.counter))
        self.proc.daemon = True
        self.proc.start()
        self.urls = queue.get(timeout=30)
        return self

    def received(self) -> int:
        return self.counter.value

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.join(timeout=10)


def register_endpoints(urls) -> None:
    from webhooks.models import WebhookEndpoint

    for url in urls:
        WebhookEndpoint.objects.create(
            url=url, events=["ticket.created", "comment.public"], secret="bench"
        )


def deliver_webhooks(batch=500):
    """Send every pending webhook delivery (the sender's batches, concurrent POSTs over
    kept-alive connections); (seconds, deliveries sent)."""
    from webhooks import sender

    start, sent = time.perf_counter(), 0
    while True:
        count = sender.deliver(limit=batch)
        if not count:
            break
        sent += count
    return time.perf_counter() - start, sent


def api_creation(orgs, n, *, with_outbox: bool):
    """ms and queries per API ticket creation, the outbox consumer (un)registered."""
    from django.db import connection
    from rest_framework.test import APIClient

    from accounts import tokens
    from notifications.fanout import consume
    from tickets import events

    org, users = orgs[0]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens.issue(users[2])}")
    saved = list(events._consumers)
    if not with_outbox:
        events._consumers[:] = [c for c in saved if c is not consume]
    counter = QueryCounter()
    try:
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            for i in range(n):
                data = {"subject": f"API {i}", "description": "Down"}
                response = client.post("/api/v1/tickets/", data, format="json")
                assert response.status_code == 201, response.content
            elapsed = time.perf_counter() - start
    finally:
        events._consumers[:] = saved
    return elapsed * 1000 / n, counter.count / n


def interleaved(orgs, n, rounds=10):
    """Without and with the outbox in alternating rounds, medians of the rounds: a busy
    machine's load shifts affect both sides alike."""
    import statistics

    per_round = max(n // rounds, 1)
    without, with_ = [], []
    for _ in range(rounds):
        without.append(api_creation(orgs, per_round, with_outbox=False))
        with_.append(api_creation(orgs, per_round, with_outbox=True))

    def median(results):
        return tuple(statistics.median(r[i] for r in results) for i in (0, 1))

    return median(without), median(with_)


class SinkProcess:
    """The SMTP server in its own process (tests/smtp_sink.py), as a real one would be: the
    figures measure our side, not two threads sharing one interpreter lock."""

    def __enter__(self):
        import subprocess
        import tempfile

        from tests.smtp_sink import free_port

        self.port = free_port()
        self.path = Path(tempfile.mkdtemp(prefix="bench-smtp-")) / "received.txt"
        self.path.touch()
        command = [sys.executable, "-m", "tests.smtp_sink", str(self.port), str(self.path)]
        self.proc = subprocess.Popen(command, cwd=ROOT)
        import socket

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return self

    def received(self) -> int:
        with open(self.path, "rb") as f:
            return sum(1 for _ in f)

    def wait_for(self, count, timeout=30) -> int:
        deadline = time.monotonic() + timeout
        while self.received() < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.received()

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--api", type=int, default=300)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--procs", type=int, default=2, help="delivery processes (the cores)")
    args = parser.parse_args()
    with SinkProcess() as sink, WebhookSinkProcess() as hooks:
        prepare_database(sink.port)
        setup_django()
        from django.conf import settings
        from rest_framework.throttling import SimpleRateThrottle

        settings.ALLOWED_HOSTS = ["*"]
        SimpleRateThrottle.THROTTLE_RATES["token"] = "1000000/min"  # the API token throttle
        orgs, agent = make_people()
        register_endpoints(hooks.urls)
        rng = random.Random(9)
        record_events(orgs, agent, 200, rng)  # warm-up: imports, caches, templates
        deliver_all(args.batch)
        deliver_webhooks()
        received_before, hooks_before = sink.received(), hooks.received()

        seconds, queries, outbox_queries = record_events(orgs, agent, args.events, rng)
        d_seconds, result = deliver_all(args.batch, args.procs)
        received = sink.wait_for(received_before + result.sent) - received_before
        w_seconds, w_sent = deliver_webhooks()
        w_received = hooks.received() - hooks_before

        api_creation(orgs, 30, with_outbox=True)  # warm-up
        (before_ms, before_q), (after_ms, after_q) = interleaved(orgs, args.api)

    print(f"notification fan-out, PostgreSQL database {BENCH_DB}, SMTP sink aiosmtpd")
    print(
        f"  recorded : {args.events} events in {seconds:.2f} s = {args.events / seconds:,.0f} "
        f"events/s, {queries / args.events:.1f} queries/event of which "
        f"{outbox_queries / args.events:.2f} on the outbox (mail and webhook rows)"
    )
    print(
        f"  delivered: {result.sent} mails in {d_seconds:.2f} s = {result.sent / d_seconds:,.0f} "
        f"mails/s ({args.procs} processes, batches of {args.batch}, one SMTP connection each; "
        f"sink received {received})"
    )
    print(
        f"  webhooks : {w_sent} deliveries in {w_seconds:.2f} s = {w_sent / w_seconds:,.0f} "
        f"deliveries/s (2 endpoints on a local HTTP server, which received {w_received})"
    )
    added_ms, added_q = after_ms - before_ms, after_q - before_q
    print(
        f"  API ticket creation: {before_ms:.2f} ms, {before_q:.1f} queries without the outbox; "
        f"{after_ms:.2f} ms, {after_q:.1f} queries with it -> +{added_ms:.2f} ms, "
        f"+{added_q:.1f} queries"
    )
    print(
        f"  peer baseline django-helpdesk (mail sent in the request): {PEER_SYNC_MS:.0f} ms, "
        f"{PEER_SYNC_QUERIES} queries per ticket -> {PEER_SYNC_MS / after_ms:.1f}x faster"
    )
    met = result.sent / d_seconds >= TARGET_MAILS
    print(f"  target {TARGET_MAILS:.0f} mails/s: {'met' if met else 'NOT met'}")
    met = w_sent / w_seconds >= TARGET_DELIVERIES
    print(f"  target {TARGET_DELIVERIES:.0f} deliveries/s: {'met' if met else 'NOT met'}")
    met = added_q <= TARGET_ADDED_QUERIES and added_ms < TARGET_ADDED_MS
    print(f"  target <= 1 query and < 1 ms added per ticket write: {'met' if met else 'NOT met'}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load} (figures scale with contention)")


if __name__ == "__main__":
    main()
