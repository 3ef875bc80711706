"""Email intake throughput on PostgreSQL: store + process of generated messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice_mail REDIS_URL=redis://... \
        python benchmarks/bench_email_intake.py [--n 10000] [--naive-n 1000] \
        [--transport-n 2000] [--baseline-n 300] [--only batch|transports]

Uses its own database (eservice_bench_mail_<pid> on the same server, or BENCH_MAIL_DB;
created, migrated and dropped at the end), the
locmem email backend and a temporary MEDIA_ROOT. Mix: new tickets from known contacts, replies
with [CS-…] subjects, auto-replies (ignored), 10% with a 200 KB PDF attachment.

Batched: store_many() (one INSERT per 500 messages) then pipeline.process_many() (one
transaction per 100 messages, a savepoint per message).
Naive baseline: store() then process() one message at a time (one INSERT and commit per
message, what a per-file MTA pipe does).

Transports, end to end (from the first message sent until every message's ticket or comment
rows exist), with real processes on Redis: smtplib clients (--senders connections) to the
LMTP listener (`manage.py lmtp_server`), HTTP POSTs to the Postmark inbound webhook (gunicorn,
2 workers x 4 threads), each with a Celery worker of --workers processes draining the queue;
and `ingest_email FILE...` (the batched path) in this process. The baseline, in the same run:
the same transport processing each message in the request, one at a time (`lmtp_server
--inline`, MAIL_INTAKE_INLINE=true), the path both transports took before the queue.

Named baseline "pre-change batch path", in the same run for the batched figures and every
transport: the same code with the parts that made it faster put back (mail_previous.py:
the feed parser, the per-message flood-limit cache calls and system notes, anymail's
parse and as_bytes() in the webhook, aiosmtpd's line-by-line DATA in the LMTP listener,
one warning lookup per reply, ingest_email's one INSERT and commit per file), in this
process or in the transports' processes.
"""

import argparse
import io
import os
import random
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mail_previous  # noqa: E402 - beside this script
from benchdb import drop_database, fresh_database  # noqa: E402 - beside this script

BENCH_DB = os.environ.get("BENCH_MAIL_DB", f"eservice_bench_mail_{os.getpid()}")
PEER_BASELINE = 86.0  # msgs/s: django-helpdesk's get_email from a local mail directory here
TARGET = 400.0
# The transports' processes find mail_previous (the pre-change batch path) beside this script.
PREVIOUS_ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT)])}
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


# -- the transports, end to end with real processes ----------------------------------------


class Fleet:
    """Subprocesses on the benchmark database and this run's own Redis prefixes."""

    def __init__(self, name: str):
        import uuid

        from django.conf import settings

        self.procs, self.dir = [], Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        prefix = f"bench-{name}-{uuid.uuid4().hex[:8]}:"
        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "CELERY_BROKER_KEY_PREFIX": prefix,
            "CACHE_KEY_PREFIX": prefix,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "ESERVICE_VAR_DIR": str(self.dir / "var"),
            "MEDIA_ROOT": str(self.dir / "media"),
            "EMAIL_URL": "dummymail://",
            "ANYMAIL_WEBHOOK_SECRET": "bench:secret",
            # Intake measured on its own: acknowledgements stay in the outbox.
            "NOTIFICATIONS_QUEUE_ON_COMMIT": "false",
            "LOG_LEVEL": "WARNING",
        }

    def start(self, *command, **env) -> None:
        log = (self.dir / f"{len(self.procs)}.log").open("w")
        self.procs.append(
            subprocess.Popen(
                command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT
            )
        )

    def workers(self, concurrency: int, *, previous: bool = False) -> None:
        app = "mail_previous" if previous else "portal"
        self.start(
            *(sys.executable, "-m", "celery", "-A", app, "worker", "-l", "warning"),
            *("--pool=prefork", f"--concurrency={concurrency}", "--without-gossip"),
            "--without-mingle",
            **PREVIOUS_ENV,
        )

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing listens on {port}")


def pending_count(since_pk: int) -> int:
    from tickets.mail.models import InboundMessage, InboundStatus

    return InboundMessage.objects.filter(pk__gt=since_pk, status=InboundStatus.STORED).count()


def stored_count(since_pk: int) -> int:
    from tickets.mail.models import InboundMessage

    return InboundMessage.objects.filter(pk__gt=since_pk).count()


def last_pk() -> int:
    from tickets.mail.models import InboundMessage

    return InboundMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def end_to_end(items, send_one, senders: int) -> tuple[float, float]:
    """Send every item from `senders` threads; → (seconds until the last was acknowledged,
    seconds until the last was processed: its ticket or comment rows exist)."""
    from django.db import connection

    since, n = last_pk(), len(items)
    chunks = [items[i::senders] for i in range(senders)]
    start = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send_one, chunks))
    acked = time.perf_counter() - start
    if stored_count(since) != n:
        sys.exit(f"only {stored_count(since)} of {n} messages stored")
    deadline = time.monotonic() + 600
    while pending_count(since) and time.monotonic() < deadline:
        time.sleep(0.05)
    connection.close()
    return acked, time.perf_counter() - start


def lmtp_sender(port: int):
    def send(chunk):
        client = smtplib.LMTP("127.0.0.1", port, timeout=120)
        client.ehlo("mx.bench.example")
        for raw, frm, to in chunk:
            refused = client.sendmail(frm, to, raw)
            assert refused == {}, refused
        client.quit()

    return send


def webhook_sender(port: int):
    import base64
    import http.client
    import json

    auth = "Basic " + base64.b64encode(b"bench:secret").decode()

    def send(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for raw, frm, to in chunk:
            body = json.dumps(
                {
                    "RawEmail": raw.decode(),
                    "OriginalRecipient": to[0],
                    "Headers": [{"Name": "Return-Path", "Value": f"<{frm}>"}],
                }
            )
            headers = {"Authorization": auth, "Content-Type": "application/json"}
            conn.request("POST", "/mail/anymail/postmark/inbound/", body, headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        conn.close()

    return send


def lmtp_run(gen, n: int, *, inline: bool, senders: int, workers: int, previous=False):
    fleet = Fleet("lmtp")
    port = free_port()
    manage = ["benchmarks/mail_previous.py", "manage"] if previous else ["manage.py"]
    command = [sys.executable, *manage, "lmtp_server", "--port", str(port)]
    fleet.start(*command, *(["--inline"] if inline else []), **PREVIOUS_ENV)
    if not inline:
        fleet.workers(workers, previous=previous)
    try:
        wait_for_port(port)
        time.sleep(3)  # the workers' start-up
        items = [gen.message(recent_tickets()) for _ in range(n)]
        return end_to_end(items, lmtp_sender(port), senders)
    finally:
        fleet.stop()


def webhook_run(gen, n: int, *, inline: bool, senders: int, workers: int, previous=False):
    fleet = Fleet("hook")
    port = free_port()
    wsgi = "mail_previous:wsgi_application()" if previous else "portal.wsgi"
    fleet.start(
        *(sys.executable, "-m", "gunicorn", wsgi, "-b", f"127.0.0.1:{port}"),
        *("-w", "2", "--threads", "4", "--log-level", "warning"),
        MAIL_INTAKE_INLINE="true" if inline else "false",
        **PREVIOUS_ENV,
    )
    if not inline:
        fleet.workers(workers, previous=previous)
    try:
        wait_for_port(port)
        time.sleep(3)
        items = [gen.message(recent_tickets()) for _ in range(n)]
        return end_to_end(items, webhook_sender(port), senders)
    finally:
        fleet.stop()


def ingest_run(gen, n: int) -> float:
    """`ingest_email FILE...` in this process (the batched path), files written first."""
    from django.core.management import call_command

    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    files = []
    for i in range(n):
        raw, _, _ = gen.message(recent_tickets() if i % 500 == 0 else [])
        path = folder / f"{i}.eml"
        path.write_bytes(raw)
        files.append(str(path))
    start = time.perf_counter()
    for i in range(0, n, 500):
        call_command(
            "ingest_email", *files[i : i + 500], to="support@eservice.example", stdout=io.StringIO()
        )
    return time.perf_counter() - start


def transports(gen, args) -> list[tuple]:
    """Per transport: (name, n, acknowledged s, processed s, pre-change processed s, inline n,
    inline processed s); the pre-change batch path runs just before the current one."""
    rows = []
    kw = {"senders": args.senders, "workers": args.workers}
    n = args.transport_n
    for name, run_one in (("LMTP", lmtp_run), ("webhook", webhook_run)):
        base_ack, base_done = run_one(gen, args.baseline_n, inline=True, **kw)
        _, before = run_one(gen, n, inline=False, previous=True, **kw)
        ack, done = run_one(gen, n, inline=False, **kw)
        rows.append((name, n, ack, done, before, args.baseline_n, base_done))
    with mail_previous.swapped():
        before = ingest_run(gen, n)
    t = ingest_run(gen, n)
    rows.append(("ingest_email", n, t, t, before, 0, 0))
    return rows


def print_transports(rows) -> None:
    print("transports end to end (sent -> ticket/comment rows exist), PostgreSQL + Redis:")
    for name, n, ack, done, before, base_n, base_done in rows:
        rate, previous = n / done, n / before
        line = (
            f"  {name:12}: {n} msgs, acknowledged {n / ack:,.0f} msg/s, processed {rate:,.0f} msg/s"
            f" | pre-change batch path: {previous:,.0f} msg/s -> {rate / previous:.2f}x"
        )
        if base_n:
            base = base_n / base_done
            line += f" | one at a time in the request: {base:,.0f} msg/s -> {rate / base:.1f}x"
        print(line + f" | target {TARGET:.0f}: {'met' if rate >= TARGET else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--naive-n", type=int, default=1_000)
    parser.add_argument("--transport-n", type=int, default=2_000)
    parser.add_argument("--baseline-n", type=int, default=300)
    parser.add_argument("--senders", type=int, default=4, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--only", choices=["batch", "transports"], default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the batched run")
    args = parser.parse_args()
    prepare_database()
    try:
        setup_django()
        people = make_people()
        gen = Generator(people)
        run(gen, 200, batched=True)  # warm-up: imports, caches, a few tickets to reply to
        print(f"email intake, PostgreSQL database {BENCH_DB}")
        if args.only != "transports":
            batch_figures(gen, args)
        if args.only != "batch":
            print_transports(transports(gen, args))
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"  machine: {os.cpu_count()} CPUs, load average {load} (figures scale with contention)"
        )
    finally:
        drop_database(BENCH_DB)


def alternating(gen, n: int, chunk: int = 500):
    """run(batched) of n messages with the current code and n with the pre-change batch path,
    alternating by chunk so that both meet the same database size and machine load →
    ((seconds, queries, statuses) current, (seconds, queries) pre-change)."""
    now, before, statuses = [0.0, 0], [0.0, 0], {}
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        with mail_previous.swapped():
            t, q, _ = run(gen, size, batched=True)
        before[0], before[1] = before[0] + t, before[1] + q
        t, q, found = run(gen, size, batched=True)
        now[0], now[1] = now[0] + t, now[1] + q
        for status, count in found.items():
            statuses[status] = statuses.get(status, 0) + count
    return (now[0], now[1], statuses), (before[0], before[1])


def profile_batched(gen, n: int) -> None:
    """A separate pass of the current batch path under cProfile (its figures are not kept)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run(gen, n, batched=True)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def batch_figures(gen, args) -> None:
    naive_t, naive_q, _ = run(gen, args.naive_n, batched=False)
    if args.profile:
        profile_batched(gen, args.n)
    (t, queries, statuses), (before_t, before_q) = alternating(gen, args.n)
    rate, naive_rate = args.n / t, args.naive_n / naive_t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    before_rate = args.n / before_t
    print(
        f"  pre-change batch path: {args.n} messages in {before_t:.2f} s = {before_rate:,.0f} "
        f"msg/s, {before_q / args.n:.1f} queries/message -> batched/pre-change "
        f"{rate / before_rate:.2f}x"
    )
    print(
        f"  peer baseline django-helpdesk (local mail dir): {PEER_BASELINE:.0f} msg/s "
        f"-> {rate / PEER_BASELINE:.1f}x"
    )
    print(f"  target {TARGET:.0f} msg/s: {'met' if rate >= TARGET else 'NOT met'}")
    print(f"  peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
