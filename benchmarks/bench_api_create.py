"""Ticket creation through the API, in-process, on PostgreSQL and Redis, outbox included.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice REDIS_URL=redis://127.0.0.1:6379/0 \
        python benchmarks/bench_api_create.py [--n 200] [--rounds 5] [--profile]

Uses its own database (eservice_bench_create_<pid>, created, migrated and dropped). A client
with token auth POSTs to /api/v1/tickets/ through DRF's APIClient (the whole middleware
stack, no network).
Each round times three variants back to back, so that the machine's load weighs on each alike:

  current       the code as it is: the flood limit counted in one cache call, the notification
                rows of the creations of a short window handed to one delivery task;
  previous path the same request with the code it replaces: the limit read then counted
                (get_many, add, exists + incr) and one delivery task published per creation;
  no outbox     the current code with the notifications consumer (outbox rows, webhooks)
                unregistered: what the outbox costs;
  pre-change    the code before this benchmark's earlier changes: the token, user,
                organization, contract and plan read by a query on every request, the flood
                count sent as EXISTS then INCRBY, a timer thread started for each hand-off
                batch, the ticket and its events written by two bulk_create() calls, the
                intake serializer's fields deep-copied, and what "prior" puts back besides;
  prior         the code before the latest changes: the ticket and its events bound as one
                array per column, the outbox rows as one parameter per value (bulk_insert),
                the intake serializer's fields made by their __init__ each time, the lenient
                choices folded on every call, the ticket's URL reversed for each ticket.

It prints ms and CPU ms per creation, queries and Redis requests (cache and broker) per
creation and creations/s (median of the rounds), the ratio against each baseline, and the
load average. --profile prints the top functions (cProfile, cumulative) of one more round of
the current code.
"""

import argparse
import functools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import drop_database, fresh_database  # noqa: E402 - beside this script

# Per run, so two runs on one machine never drop each other's database.
BENCH_DB = f"eservice_bench_create_{os.getpid()}"
TARGET = 300.0


def setup() -> None:
    fresh_database(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["TICKETS_PER_USER_PER_HOUR"] = "100000000"  # throughput, not floods
    os.environ["EMAIL_URL"] = "memorymail://"
    # This run's own broker keys and cache keys: the delivery tasks are published, not run.
    tag = f"bench-create-{os.getpid()}:"
    os.environ["CELERY_BROKER_KEY_PREFIX"] = tag
    os.environ["CACHE_KEY_PREFIX"] = tag
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def client():
    from rest_framework.test import APIClient

    from accounts import tokens
    from accounts.models import User
    from accounts.services import create_organization

    org = create_organization(name="Bench", region="GMT", plan="platinum", email_domains=[])
    person = User.objects.create_user(
        username="bench-client", email="c@bench.example", password="bench-Pass-1", organization=org
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {tokens.issue(person)}")
    return api


def query_every_time(key: str):
    """accounts.tokens.find as it was: one four-join query per request."""
    from django.utils import timezone

    from accounts import tokens

    return tokens._query(tokens.digest(key), timezone.now())


def two_inserts(changes):
    """tickets.services.opening as it was: bulk_create() the tickets, then their events."""
    from tickets.models import Ticket, TicketEvent

    tickets = Ticket.objects.bulk_create([change.ticket for change in changes])
    for change in changes:
        for event in change.events:
            event.ticket = change.ticket
    TicketEvent.objects.bulk_create([e for change in changes for e in change.events])
    return tickets


def two_trip_incr(cache, key, delta=1, version=None):
    """Django's RedisCache.incr: EXISTS, then INCRBY."""
    from django.core.cache.backends.redis import RedisCache

    return RedisCache.incr(cache, key, delta, version)


def array_cte(changes):
    """tickets.services.opening as it was before its JSON rows: one statement over one
    array per column (unnest)."""
    from django.db import connection

    from core.db import column_values, mark_saved
    from tickets.models import Ticket, TicketEvent

    tickets = [change.ticket for change in changes]
    events = [(n, event) for n, c in enumerate(changes, 1) for event in c.events]
    ticket_fields, event_fields = _fields(Ticket), _fields(TicketEvent, "ticket")
    params = [column_values(f, tickets) for f in ticket_fields]
    params.append([n for n, _event in events])
    params += [column_values(f, [event for _n, event in events]) for f in event_fields]
    with connection.cursor() as cursor:
        cursor.execute(_array_cte_sql(), params)
        pks = [pk for (pk,) in cursor.fetchall()]
    for ticket, pk in zip(tickets, pks, strict=True):
        mark_saved(ticket, pk)
    return tickets


def _fields(model, *skip) -> list:
    meta = model._meta
    return [f for f in meta.concrete_fields if f is not meta.pk and f.name not in skip]


@functools.cache
def _array_cte_sql() -> str:
    from django.db import connection

    from tickets.models import Ticket, TicketEvent

    qn = connection.ops.quote_name

    def columns(fields):
        return ", ".join(qn(f.column) for f in fields)

    def arrays(fields):
        return ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)

    ticket_fields, event_fields = _fields(Ticket), _fields(TicketEvent, "ticket")
    pk = qn(str(Ticket._meta.pk.column))
    values = ", ".join(f"v.c{i}" for i in range(len(event_fields)))
    aliases = ", ".join(f"c{i}" for i in range(len(event_fields)))
    ticket_column = qn(str(TicketEvent._meta.get_field("ticket").column))
    return (
        f"WITH t AS (INSERT INTO {qn(Ticket._meta.db_table)} ({columns(ticket_fields)}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays(ticket_fields)}) RETURNING {pk}), "
        f"n AS (SELECT {pk}, row_number() OVER (ORDER BY {pk}) AS number FROM t), "
        f"e AS (INSERT INTO {qn(TicketEvent._meta.db_table)} "
        f"({ticket_column}, {columns(event_fields)}) "
        f"SELECT n.{pk}, {values} FROM unnest(%s::bigint[], {arrays(event_fields)}) "
        f"WITH ORDINALITY AS v(number, {aliases}, position) JOIN n USING (number) "
        f"ORDER BY v.position) "
        f"SELECT {pk} FROM n ORDER BY number"
    )


def fields_made_each_time(serializer):
    """core.serializers.FreshFieldsMixin.get_fields as it was: every field's __init__ again."""
    import copy

    from rest_framework import serializers

    def fresh(field):
        kwargs = {
            key: copy.deepcopy(value) if isinstance(value, serializers.Field) else value
            for key, value in field._kwargs.items()
        }
        return type(field)(*field._args, **kwargs)

    return {name: fresh(field) for name, field in serializer._declared_fields.items()}


def folded_each_time(field, data):
    """core.serializers.LenientChoiceField.to_internal_value as it was."""
    from rest_framework import serializers

    from core.serializers import _folded

    if isinstance(data, str):
        wanted = _folded(data)
        for value, label in field.choices.items():
            if wanted in (_folded(value), _folded(label)):
                return value
    return serializers.ChoiceField.to_internal_value(field, data)


def reversed_url(serializer, ticket) -> str:
    """tickets.api.serializers.TicketSerializer.get_url as it was."""
    from django.urls import reverse

    path = reverse("ticket-detail", args=[ticket.reference])
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request else path


class TimerHandoff:
    """core.coalesce as it was: the addition that opens a batch starts a timer thread."""

    WINDOW = 0.02

    def __init__(self):
        import threading

        self.lock, self.items, self.timer = threading.Lock(), [], None

    def add(self, items=()):
        import threading

        with self.lock:
            self.items.extend(items)
            if self.timer is None:
                self.timer = threading.Timer(self.WINDOW, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self):
        from notifications import handoff

        with self.lock:
            timer, items = self.timer, self.items
            self.timer, self.items = None, []
        if timer is not None:
            timer.cancel()
            handoff.queue(items)


def previous_check_new_ticket(user) -> None:
    """tickets.limits.check_new_ticket as it was: read the window, then count the hit."""
    from django.conf import settings

    from core import ratelimit
    from tickets import limits

    name = ratelimit.key("tickets-user", user.pk)
    if ratelimit.wait_seconds(name, settings.TICKETS_PER_USER_PER_HOUR, limits.WINDOW):
        raise limits.TooManyTickets("over the limit", retry_after=60)
    ratelimit.hit(name, limits.WINDOW)


class Variant:
    """Swaps the functions a variant replaces, for the duration of a `with`."""

    def __init__(self, name: str):
        self.name, self.saved = name, []

    def __enter__(self):
        from accounts import tokens
        from core.cache import PrefixedRedisCache
        from notifications import fanout, handoff
        from tickets import events, limits

        self.timers = None
        if self.name in ("prior", "pre-change"):
            import sweep_previous

            from core.serializers import LenientChoiceField
            from tickets.api.serializers import TicketCreateSerializer, TicketSerializer
            from tickets.services import opening

            self._swap(opening, "_insert_with_events", array_cte)
            # The outbox as it was: a Notification instance per row, written by bulk_insert.
            self._swap(fanout, "_rows", sweep_previous.previous_rows)
            consumers = [
                sweep_previous.previous_consume if c is fanout.consume else c
                for c in events._consumers
            ]
            self._swap(events, "_consumers", consumers)
            self._swap(TicketCreateSerializer, "get_fields", fields_made_each_time)
            self._swap(LenientChoiceField, "to_internal_value", folded_each_time)
            self._swap(TicketSerializer, "get_url", reversed_url)
        if self.name in ("previous path", "pre-change"):
            self._swap(tokens, "find", query_every_time)
            self._swap(PrefixedRedisCache, "incr", two_trip_incr)
        if self.name == "pre-change":
            from rest_framework import serializers

            from tickets.api.serializers import TicketCreateSerializer
            from tickets.services import opening

            self._swap(opening, "_insert_with_events", two_inserts)
            self._swap(TicketCreateSerializer, "get_fields", serializers.Serializer.get_fields)
            self.timers = TimerHandoff()
            self._swap(handoff.pending, "add", self.timers.add)
        if self.name == "previous path":
            self._swap(limits, "check_new_ticket", previous_check_new_ticket)
            self._swap(handoff.pending, "add", handoff.queue)
        elif self.name == "no outbox":
            kept = [c for c in events._consumers if c is not fanout.consume]
            self._swap(events, "_consumers", kept)
        return self

    def _swap(self, owner, attr, value):
        self.saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    def __exit__(self, *exc):
        from notifications import handoff

        handoff.pending.flush()
        if self.timers is not None:
            self.timers.flush()
        for owner, attr, value in reversed(self.saved):
            setattr(owner, attr, value)


class RedisTrips:
    """Counts the requests sent to Redis (cache and broker; a pipeline is one)."""

    def __init__(self):
        from redis.connection import Connection

        self.count, self.cls = 0, Connection
        self.real = Connection.send_packed_command

    def __enter__(self):
        real = self.real

        def counted(conn, *args, **kwargs):
            self.count += 1
            return real(conn, *args, **kwargs)

        self.cls.send_packed_command = counted
        return self

    def __exit__(self, *exc):
        self.cls.send_packed_command = self.real


def create(api, n: int, tag: str) -> tuple[float, float, int, int]:
    """n creations → (wall s, CPU s, queries, Redis requests)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from notifications import handoff

    # The log keeps the last 9,000 queries: a full one would make the count read 0.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured, RedisTrips() as trips:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            data = {"subject": f"{tag} {i}", "description": "Replay lags.", "priority": "P1"}
            response = api.post("/api/v1/tickets/", data, format="json")
            if response.status_code != 201:
                sys.exit(f"creation failed: {response.status_code} {response.content[:300]}")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        # The tasks still waiting count too (pre-change: its timer's batch).
        getattr(handoff.pending.add, "__self__", handoff.pending).flush()
    return wall, cpu, len(captured.captured_queries), trips.count


VARIANTS = ("current", "prior", "pre-change", "previous path", "no outbox")


def measure(api, n: int, rounds: int) -> dict:
    figures = {name: [] for name in VARIANTS}
    for r in range(rounds):
        for name in VARIANTS:
            with Variant(name):
                figures[name].append(create(api, n, f"{name} {r}"))
    return figures


def report(figures: dict, n: int) -> None:
    rates = {}
    print(
        f"{'variant':14} {'creations/s':>12} {'ms each':>8} {'CPU ms':>7} {'queries':>8} "
        f"{'Redis':>6}"
    )
    for name, runs in figures.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        queries, trips = runs[-1][2] / n, runs[-1][3] / n
        rates[name] = n / wall
        each = " ".join(f"{n / run[0]:.0f}" for run in runs)
        print(
            f"{name:14} {rates[name]:12.0f} {wall * 1000 / n:8.2f} "
            f"{cpu * 1000 / n:7.2f} {queries:8.1f} {trips:6.2f}   rounds/s: {each}"
        )
    current = rates["current"]
    for name in VARIANTS[1:]:
        print(f"current / {name}: {current / rates[name]:.2f}x")
    print(f"target {TARGET:.0f}/s: {'met' if current >= TARGET else 'NOT met'}")


def profile(api, n: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    create(api, n, "profiled")
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="creations per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    setup()
    try:
        api = client()
        create(api, 30, "warm-up")
        print(f"API ticket creation, in-process, PostgreSQL database {BENCH_DB}, {args.n} per run")
        report(measure(api, args.n, args.rounds), args.n)
        if args.profile:
            profile(api, args.n)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"machine: {os.cpu_count()} CPUs, load average {load} (figures scale with contention)"
        )
    finally:
        forget_keys()
        drop_database(BENCH_DB)


def forget_keys() -> None:
    """The delivery tasks published (no worker runs here) and the cache keys of this run."""
    import redis
    from django.conf import settings

    url = getattr(settings, "CELERY_BROKER_URL", "")
    if url.startswith("redis"):
        server = redis.Redis.from_url(url)
        keys = list(server.scan_iter(match=os.environ["CELERY_BROKER_KEY_PREFIX"] + "*"))
        if keys:
            server.delete(*keys)


if __name__ == "__main__":
    main()
