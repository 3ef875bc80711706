"""The notification outbox's write: building a change's Notification rows and inserting them.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice \\
        python benchmarks/bench_outbox.py [--rounds 5] [--sizes 2,200,5000]

Uses its own database (eservice_bench_outbox, recreated and migrated). For each batch size
(2 rows: a ticket's creation through the API; thousands: one batch of the escalation sweep)
each round times two variants back to back, in a transaction rolled back afterwards:

  current   notifications.fanout._rows and notifications.outbox.write as they are (plain
            rows, the mail domain read once, one INSERT … SELECT FROM unnest() bound in
            binary);
  previous  the code they replace, the named baseline: one Model(...) per row with related
            instances and its own timezone.now(), the domain parsed from DEFAULT_FROM_EMAIL
            per row, and every batch as one INSERT … VALUES with a parameter per value.

Prints µs per row (wall and CPU, median of the rounds), rows/s, the ratio previous / current
and the load average.
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from email.utils import parseaddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import fresh_database  # noqa: E402 - beside this script

BENCH_DB = "eservice_bench_outbox"


def setup() -> None:
    fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["EMAIL_URL"] = "memorymail://"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_ticket():
    from accounts.models import User
    from accounts.services import create_organization
    from tickets.services import open_ticket

    org = create_organization(name="Bench", region="GMT", plan="platinum", email_domains=[])
    reporter = User.objects.create_user(
        username="bench-client", email="c@bench.example", password="bench-Pass-1", organization=org
    )
    return open_ticket(organization=org, reporter=reporter, subject="Bench", description="d")


def bench_people(ticket, count: int) -> list:
    """The reporter (a user) and count - 1 addresses without an account."""
    from notifications.recipients import Recipient

    others = [Recipient(f"person{i}@bench.example") for i in range(count - 1)]
    return [Recipient.of(ticket.reporter), *others]


def previous_rows(recipients, kind, category, *, ticket=None, comment=None, credit=None, data):
    from django.conf import settings
    from django.utils import timezone

    from notifications.models import Notification

    def message_id():
        domain = settings.SUPPORT_EMAIL_DOMAIN or (
            parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "eservice.localhost"
        )
        return f"<{ticket.reference}.{uuid.uuid4().hex}@{domain}>"

    return [
        Notification(
            kind=kind,
            category=category,
            ticket=ticket,
            comment=comment,
            credit=credit,
            recipient=r.user,
            email=r.email,
            language=r.language,
            message_id=message_id(),
            data=data,
            next_attempt_at=timezone.now(),
        )
        for r in recipients
    ]


def write(variant: str, ticket, people) -> tuple[float, float]:
    """One batch's rows built and inserted, rolled back → (wall s, CPU s)."""
    from django.db import transaction

    from core import db
    from notifications import fanout, outbox
    from notifications.models import Category, Notification

    build = fanout._rows if variant == "current" else previous_rows
    saved = db.UNNEST_FROM
    if variant == "previous":
        db.UNNEST_FROM = sys.maxsize
    try:
        with transaction.atomic():
            start, cpu = time.perf_counter(), time.process_time()
            rows = build(people, "escalation", Category.ESCALATIONS, ticket=ticket, data={"a": 1})
            if variant == "current":
                outbox.write(rows)
            else:
                db.bulk_insert(Notification, rows)
            figures = time.perf_counter() - start, time.process_time() - cpu
            if not all(row.pk for row in rows):
                sys.exit(f"{variant}: rows without a pk")
            transaction.set_rollback(True)
    finally:
        db.UNNEST_FROM = saved
    return figures


def measure(sizes: list[int], rounds: int) -> None:
    print(f"{'rows':>6} {'variant':9} {'µs/row':>8} {'CPU µs/row':>11} {'rows/s':>9}")
    ticket = bench_ticket()
    for size in sizes:
        people = bench_people(ticket, size)
        runs = {"current": [], "previous": []}
        for _ in range(rounds):
            for variant in runs:
                runs[variant].append(write(variant, ticket, people))
        wall = {}
        for variant, figures in runs.items():
            wall[variant] = statistics.median(w for w, _ in figures) / size
            cpu = statistics.median(c for _, c in figures) / size
            print(
                f"{size:6} {variant:9} {wall[variant] * 1e6:8.1f} {cpu * 1e6:11.1f} "
                f"{1 / wall[variant]:9,.0f}"
            )
        print(f"{size:6} ratio previous / current: {wall['previous'] / wall['current']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="2,200,5000", help="rows per batch, comma-separated")
    args = parser.parse_args()
    setup()
    measure([int(s) for s in args.sizes.split(",")], args.rounds)
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
