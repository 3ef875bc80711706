"""Email intake throughput on PostgreSQL: store + process of generated messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice_mail \
        python benchmarks/bench_email_intake.py [--n 10000] [--naive-n 1000]

Uses its own database (eservice_bench_mail on the same server, recreated and migrated), the
locmem email backend and a temporary MEDIA_ROOT. Mix: new tickets from known contacts, replies
with [CS-…] subjects, auto-replies (ignored), 10% with a 200 KB PDF attachment.

Batched: store_many() (one INSERT per 500 messages) then pipeline.process_many() (one
transaction per 100 messages, a savepoint per message).
Naive baseline: store() then process() one message at a time (one INSERT and commit per
message, what a per-file MTA pipe does).
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import fresh_database  # noqa: E402 - beside this script

BENCH_DB = "eservice_bench_mail"
PEER_BASELINE = 86.0  # msgs/s: django-helpdesk's get_email from a local mail directory here
TARGET = 400.0
PDF = b"%PDF-1.4\n" + bytes(random.Random(7).getrandbits(8) for _ in range(200 * 1024))


def prepare_database() -> None:
    fresh_database(BENCH_DB)
    os.environ["EMAIL_URL"] = "memorymail://"  # locmem backend
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-mail-media-")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
    # Throughput, not floods: the per-user and per-sender ticket limits stay out of the way.
    os.environ.setdefault("TICKETS_PER_USER_PER_HOUR", "10000000")
    os.environ.setdefault("TICKETS_PER_SENDER_PER_HOUR", "10000000")


def setup_django():
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger().setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)


def make_people(n_orgs=50, per_org=5):
    from accounts.models import User
    from accounts.services import create_organization

    people = []
    for i in range(n_orgs):
        org = create_organization(
            name=f"Bench {i}",
            plan="platinum" if i % 2 else "standard",
            email_domains=[f"bench{i}.example"],
            region=["GMT", "US-EST", "US-PST"][i % 3],
        )
        for j in range(per_org):
            user = User(username=f"u{i}-{j}", email=f"u{j}@bench{i}.example", organization=org)
            user.set_unusable_password()
            user.save()
            people.append(user.email)
    return people


class Generator:
    def __init__(self, people, seed=1):
        self.people, self.rng, self.seq = people, random.Random(seed), 0

    def message(self, tickets) -> tuple[bytes, str, list]:
        self.seq += 1
        rng, n = self.rng, self.seq
        roll = rng.random()
        sender = rng.choice(self.people)
        to = "premier@eservice.example" if n % 2 else "support@eservice.example"
        extra, subject = "", f"Heatmap problem number {n}"
        if roll < 0.10:
            extra, subject = "Auto-Submitted: auto-replied\r\n", f"Out of office {n}"
        elif roll < 0.30 and tickets:
            ref, owner = rng.choice(tickets)
            sender, subject = owner, f"Re: [{ref}] Heatmap problem"
        body = f"Hello,\r\n\r\nThe heatmap of page {n} stays blank.\r\n\r\n> quoted\r\n"
        head = (
            f"From: Person {n} <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 03 Mar 2026 10:15:42 +0000\r\nMessage-ID: <bench-{n}@mail.example>\r\n"
            f"MIME-Version: 1.0\r\n{extra}"
        )
        if rng.random() < 0.10:
            import base64

            pdf = base64.encodebytes(PDF).decode().replace("\n", "\r\n")
            raw = (
                head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n--b1\r\n"
                'Content-Type: application/pdf; name="report.pdf"\r\n'
                'Content-Disposition: attachment; filename="report.pdf"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n" + pdf + "--b1--\r\n"
            )
        else:
            raw = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
        return raw.encode(), sender, [to]


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def recent_tickets():
    from tickets.models import Ticket

    return [
        (t.reference, t.reporter.email)
        for t in Ticket.objects.select_related("reporter").order_by("-id")[:200]
    ]


def run(gen, n, *, batched: bool, batch=500):
    from django.core import mail
    from django.db import connection

    from tickets.mail.pipeline import process, process_many
    from tickets.mail.store import store, store_many

    counter, elapsed, done = QueryCounter(), 0.0, 0
    statuses = {}
    while done < n:
        size = min(batch, n - done)
        tickets = recent_tickets()
        items = [gen.message(tickets) for _ in range(size)]
        mail.outbox = []
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            if batched:
                processed = process_many([m.pk for m in store_many(items)])
            else:
                pks = [store(raw, frm, to)[0].pk for raw, frm, to in items]
                processed = [process(pk) for pk in pks]
            for message in processed:
                statuses[message.status] = statuses.get(message.status, 0) + 1
            elapsed += time.perf_counter() - start
        done += size
    return elapsed, counter.count, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--naive-n", type=int, default=1_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the batched run")
    args = parser.parse_args()
    prepare_database()
    setup_django()
    people = make_people()
    gen = Generator(people)
    run(gen, 200, batched=True)  # warm-up: imports, caches, a few tickets to reply to

    naive_t, naive_q, _ = run(gen, args.naive_n, batched=False)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    t, queries, statuses = run(gen, args.n, batched=True)
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    rate, naive_rate = args.n / t, args.naive_n / naive_t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"email intake, PostgreSQL database {BENCH_DB}")
    print(
        f"  batched : {args.n} messages in {t:.2f} s = {rate:,.0f} msg/s, "
        f"{queries / args.n:.1f} queries/message"
    )
    print(f"            outcomes: {statuses}")
    print(
        f"  naive   : {args.naive_n} messages in {naive_t:.2f} s = {naive_rate:,.0f} msg/s, "
        f"{naive_q / args.naive_n:.1f} queries/message (store() then process(), one at a time)"
    )
    print(f"  ratio batched/naive: {rate / naive_rate:.2f}x")
    print(
        f"  peer baseline django-helpdesk (local mail dir): {PEER_BASELINE:.0f} msg/s "
        f"-> {rate / PEER_BASELINE:.1f}x"
    )
    print(f"  target {TARGET:.0f} msg/s: {'met' if rate >= TARGET else 'NOT met'}")
    print(f"  peak memory (max RSS): {peak_mb:.0f} MB")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  machine: {os.cpu_count()} CPUs, load average {load} (figures scale with contention)")


if __name__ == "__main__":
    main()
