"""The whole product under HTTP load at 1M tickets, then the peer helpdesk under the same load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eservice REDIS_URL=redis://127.0.0.1:6379/0 \\
        python benchmarks/bench_http.py [--quick] [--size 1m] \\
        [--peer-dir /path/to/django-helpdesk --peer-python /path/to/venv/bin/python]

What runs, all on loopback and all stopped at the end (even on error):
- a copy of `eservice_data_<size>` (datagen.py; CREATE DATABASE … TEMPLATE, dropped at the
  end), because the mix writes;
- gunicorn on portal.wsgi, 2 workers x 4 threads (gthread), idle connections kept 75 s
  (longer than any user's pause, as a reverse proxy keeps them). Why: the machine has 2 shared
  cores, which also run PostgreSQL, Redis, the Celery worker and this load generator. A
  request is mostly Python (CPU, under one GIL per process), so more than one worker per
  core only adds memory and context switches; the threads let a worker run Python while
  another request of it waits on PostgreSQL, Redis or the socket. 8 requests in flight cover
  16 users without a thread per user;
- a real Celery worker (concurrency 1) delivering the mail (to an SMTP sink) and the
  webhooks (to a receiver registered through the API) that the mix causes;
- this script's load generator (benchmarks/httpload.py): one asyncio loop of httpx clients,
  16 virtual users by default, each signed in through the real login form (CSRF and session
  cookie) and running its persona's mix back to back by default (no think time, the worst
  case: latency is then mostly queueing, by Little's law 16 users / throughput), or with
  --think S pausing S seconds on average between page loads, as people reading do:
    clients (8)  list their tickets 40%, open one 40%, open one and reply 20%
    staff   (6)  the admin desk 35%, a desk search 20%, a ticket page 25%, a triage through
                 the staff API 20%
    API     (2)  ticket creation with a client token
  It prints its own CPU share next to the server's so one can see it did not starve it.
  The per-user hourly ticket limit is raised for the server: two API users open far more
  tickets an hour than one real client may.

Printed per page type: page loads, req/s, p50/p95/p99 in ms, errors; then RSS per gunicorn
worker, the mail and webhooks delivered during the run, and the targets (p95 < 150 ms,
0 errors). With --peer-dir/--peer-python (or PEER_DIR/PEER_PYTHON) the same concurrency
drives django-helpdesk (benchmarks/peer_helpdesk.py: its settings and its dataset are
generated here) on the pages it has, and the ratio of throughput per matching page is
printed, eService over the peer (the baseline). Without them, the peer part is skipped.
The peer runs at 10k tickets unless --peer-size says otherwise: at 100k its staff list and
search take 26-45 s a load under this mix and its client list and ticket page time out
(30 s, the generator's limit), at 1M no list load completes; 10k is the largest size at
which it answers every page of the mix without errors. So the ratio is eService at --size
(1M by default) over the peer at 10k, which understates the difference.
"""

import argparse
import asyncio
import functools
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402 - after the path set-up
import http_servers as hs  # noqa: E402
import httpload  # noqa: E402
from httpload import VirtualUser, csrf_from  # noqa: E402

WORKERS = 2
THREADS = 4
PASSWORD = "bench-Pass-1"  # datagen's password for its users
TARGET_P95_MS = 150.0
REF = re.compile(r'href="/tickets/(CS-\d+)/"')
DESK_ID = re.compile(r'href="/admin/tickets/ticket/(\d+)/change/')
DESK = "/admin/tickets/ticket/"
SEARCHES = ["heatmap", "replay", "checkout", "lent", "blank", "mobile", "Zoning", "export"]
PERSONAS = (("client", 8), ("staff", 6), ("api", 2))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", choices=["10k", "100k", "1m"])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a user pauses between page loads (0: back to back, the worst case)",
    )
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument(
        "--capacity-seconds",
        type=float,
        default=15,
        help="then each page type on its own, --users back to back, for this long (0: skip)",
    )
    parser.add_argument("--quick", action="store_true", help="10k tickets, 10 s per side")
    parser.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", ""))
    parser.add_argument("--peer-python", default=os.environ.get("PEER_PYTHON", ""))
    parser.add_argument(
        "--peer-size", choices=["10k", "100k", "1m"], default="", help="default: 10k"
    )
    parser.add_argument("--peer-only", action="store_true", help="skip eService's part")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the copies")
    args = parser.parse_args()
    if args.quick:
        args.size, args.seconds, args.warmup = "10k", 10, 3
        args.capacity_seconds = min(args.capacity_seconds, 4)
    args.peer_size = args.peer_size or "10k"  # the largest it answers at: see the docstring
    return args


# -- the eService mix -----------------------------------------------------------------------


async def client_list(user: VirtualUser) -> None:
    page = await user.timed("client_list", lambda: user.call("GET", "/"))
    if page is not None:
        user.known["refs"] = REF.findall(page.text) or user.known.get("refs", [])


async def client_open(user: VirtualUser):
    if not user.known.get("refs"):
        return await client_list(user)
    reference = user.rng.choice(user.known["refs"])
    page = await user.timed("client_open", lambda: user.call("GET", f"/tickets/{reference}/"))
    return (reference, page) if page is not None else None


async def client_reply(user: VirtualUser) -> None:
    opened = await client_open(user)
    if not opened:
        return
    reference, page = opened

    async def post():
        data = {"csrfmiddlewaretoken": csrf_from(page.text), "body": "Any news? (load test)"}
        return await user.call("POST", f"/tickets/{reference}/", expect=(302,), data=data)

    await user.timed("client_reply", post)


async def staff_desk(user: VirtualUser) -> None:
    page = await user.timed("staff_desk", lambda: user.call("GET", DESK))
    if page is not None:
        user.known["ids"] = DESK_ID.findall(page.text) or user.known.get("ids", [])


async def staff_search(user: VirtualUser) -> None:
    term = user.rng.choice(SEARCHES)
    await user.timed("staff_search", lambda: user.call("GET", DESK, params={"q": term}))


async def staff_ticket(user: VirtualUser) -> None:
    if not user.known.get("ids"):
        return await staff_desk(user)
    pk = user.rng.choice(user.known["ids"])
    await user.timed("staff_ticket", lambda: user.call("GET", f"{DESK}{pk}/change/"))


async def staff_triage(user: VirtualUser) -> None:
    if not user.known.get("ids"):
        return await staff_desk(user)
    reference = f"CS-{int(user.rng.choice(user.known['ids'])):06d}"
    body = {"priority": user.rng.choice(["P1", "P2"])}
    url = f"/api/v1/tickets/{reference}/triage/"
    await user.timed(
        "staff_triage", lambda: user.call("POST", url, json=body, headers=user.csrf_header())
    )


async def api_create(user: VirtualUser) -> None:
    body = {
        "subject": "Heatmap stays blank on checkout (load test)",
        "description": "Created by the HTTP benchmark through the API.",
        "priority": user.rng.choice(["P2", "P3"]),
        "feature": "heatmaps",
    }
    headers = {"Authorization": f"Token {user.known['token']}"}
    await user.timed(
        "api_create",
        lambda: user.call("POST", "/api/v1/tickets/", expect=(201,), json=body, headers=headers),
    )


ACTIONS = httpload.actions(globals())  # each persona_page coroutine above
MIXES = httpload.mixes(ACTIONS)
# Every page type, each measured on its own by --capacity-seconds.
CAPACITY_PAGES = [key.replace(".", "_") for key in ACTIONS]


def personas(users: int) -> list[str]:
    """The persona of each virtual user, in the proportions of PERSONAS."""
    total = sum(n for _, n in PERSONAS)
    names = [name for name, n in PERSONAS for _ in range(max(1, round(n * users / total)))]
    return names[:users]


async def sign_in(user: VirtualUser, persona: str, n: int) -> None:
    """Clients of the biggest organizations (they have open tickets at every size), staff
    through the admin's form, API users with a token of a client."""
    client = f"data-client-{n % 10:03d}-{n // 10 % 5}"
    if persona == "staff":
        await user.login("/admin/login/", f"data-staff-{n:02d}", PASSWORD, {"next": "/admin/"})
        await staff_desk(user)
    elif persona == "client":
        await user.login("/accounts/login/", client, PASSWORD)
        await client_list(user)
    else:
        body = {"username": client, "password": PASSWORD}
        response = await user.call("POST", "/api/v1/auth/token/", json=body)
        user.known["token"] = response.json()["token"]


async def register_webhook(user: VirtualUser, hook_port: int) -> None:
    body = {
        "url": f"http://127.0.0.1:{hook_port}/hook",
        "events": ["ticket.created", "ticket.updated", "comment.public"],
        "secret": "bench-http-secret",
    }
    await user.call(
        "POST", "/api/v1/webhooks/", expect=(201,), json=body, headers=user.csrf_header()
    )


async def drive(base_url: str, args, hook_port: int, settle=None) -> tuple[httpload.Stats, dict]:
    stats = httpload.Stats()
    stats.recording = False  # from the end of the warm-up on
    users = []
    for n, persona in enumerate(personas(args.users)):
        users.append(VirtualUser(base_url, stats, MIXES[persona], seed=n, persona=persona))
    try:
        await asyncio.gather(*(sign_in(u, u.known["persona"], n) for n, u in enumerate(users)))
        staff = [u for u in users if u.known["persona"] == "staff"]
        if staff:
            await register_webhook(staff[0], hook_port)
        run = await httpload.run_users(users, args.seconds, args.warmup, args.think)
    finally:
        await asyncio.gather(*(u.close() for u in users))
    if args.capacity_seconds:
        if settle:
            run["settled_s"] = await asyncio.to_thread(settle)
        run["capacity"] = await capacity(base_url, args, sign_in, ACTIONS, CAPACITY_PAGES)
    return stats, run


def wait_delivered(database_url: str, limit_s: float = 240.0) -> float:
    """Wait until the worker has sent the mail and webhooks the mix left due (bounded): the
    page-by-page runs then measure the pages, not the pages beside the worker's backlog
    (the peer, which mails from the request, has none). Returns the seconds waited."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(datagen.conninfo(database_url), autocommit=True) as conn:
        while time.perf_counter() - started < limit_s:
            due = conn.execute(
                "SELECT (SELECT count(*) FROM notifications_notification WHERE status IN "
                "('pending', 'sending') AND next_attempt_at <= now()) + (SELECT count(*) FROM "
                "webhooks_webhookdelivery WHERE status = 'pending' AND next_attempt_at <= now())"
            ).fetchone()[0]
            if not due:
                break
            time.sleep(1)
    return time.perf_counter() - started


async def capacity(base_url: str, args, sign_in, actions: dict, pages: list[str], known=None):
    """Each page type on its own (httpload.run_capacity), with --users users of its persona
    signed in afresh. `known(user)`, if given, tells a user what its first page showed."""
    personas = {page.split("_", 1)[0] for page in pages}
    users_of = {
        persona: [
            VirtualUser(base_url, httpload.Stats(), None, seed=100 + n, persona=persona)
            for n in range(args.users)
        ]
        for persona in sorted(personas)
    }
    everyone = [user for users in users_of.values() for user in users]
    try:
        for persona, users in users_of.items():
            await asyncio.gather(*(sign_in(u, persona, n) for n, u in enumerate(users)))
        for user in everyone:
            if known:
                known(user)
        return await httpload.run_capacity(
            users_of, actions, pages, args.capacity_seconds, warmup=min(3, args.warmup)
        )
    finally:
        await asyncio.gather(*(u.close() for u in everyone))


# -- the run ----------------------------------------------------------------------------------


def server_env(database_url: str, run_id: str, ports: dict, var_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        CACHE_KEY_PREFIX=f"benchhttp{run_id}",
        CELERY_BROKER_KEY_PREFIX=f"benchhttp{run_id}:",
        ESERVICE_VAR_DIR=str(var_dir),
        SECRET_KEY=f"bench-http-{run_id}-" + "k" * 40,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{ports['web']}",
        EMAIL_URL=f"smtp://127.0.0.1:{ports['smtp']}",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        TICKETS_PER_USER_PER_HOUR="1000000",
    )
    return env


def delivered(database_url: str, since) -> dict:
    """Mail and webhook deliveries the worker completed since `since`, and what is left."""
    import psycopg

    info = datagen.conninfo(database_url)
    with psycopg.connect(info) as conn:
        mail = dict(
            conn.execute(
                "SELECT status, count(*) FROM notifications_notification "
                "WHERE created_at >= %s GROUP BY status",
                [since],
            ).fetchall()
        )
        hooks = dict(
            conn.execute(
                "SELECT status, count(*) FROM webhooks_webhookdelivery "
                "WHERE created_at >= %s GROUP BY status",
                [since],
            ).fetchall()
        )
    return {"mail": mail, "webhooks": hooks}


def run_eservice(args, run_id: str, tmp: Path) -> dict:
    base = datagen.server_url()
    admin = datagen.conninfo(datagen.with_database(base, "postgres"))
    source = f"eservice_data_{args.size}"
    if not hs.database_exists(admin, source):
        sys.exit(f"{source} is missing: load it with benchmarks/datagen.py first")
    copy = f"eservice_bench_http_{run_id}"
    print(f"copying {source} to {copy} ...", flush=True)
    print(f"  copied in {hs.copy_database(admin, source, copy):.0f} s", flush=True)
    database_url = datagen.with_database(base, copy)
    ports = {"web": 20000 + int(run_id) % 20000, "smtp": 0, "hooks": 0}
    ports["smtp"], ports["hooks"] = ports["web"] + 1, ports["web"] + 2
    env = server_env(database_url, run_id, ports, tmp)
    try:
        with hs.Processes(tmp) as procs:
            return serve_and_drive(args, procs, env, ports, database_url)
    finally:
        hs.forget_redis_keys(env["REDIS_URL"], f"benchhttp{run_id}:")
        if not args.keep_database:
            hs.drop_database(admin, copy)


def serve_and_drive(args, procs: hs.Processes, env: dict, ports: dict, database_url: str) -> dict:
    from datetime import UTC, datetime

    hs.start_sinks(procs, ports["smtp"], ports["hooks"], ROOT)
    python = sys.executable
    web = procs.start(
        "web", hs.gunicorn_argv(python, "portal.wsgi", ports["web"], WORKERS, THREADS), env, ROOT
    )
    worker_argv = [python, "-m", "celery", "-A", "portal", "worker", "--concurrency", "1"]
    worker = procs.start("worker", [*worker_argv, "--loglevel", "WARNING"], env, ROOT)
    base_url = f"http://127.0.0.1:{ports['web']}"
    try:
        hs.wait_http(f"{base_url}/health/", process=web)
    except RuntimeError:
        print(procs.log_tail("web"))
        raise
    since = datetime.now(UTC)
    workers = hs.children(web.pid)
    cpu_before = hs.cpu_seconds(workers), hs.cpu_seconds([worker.pid, *hs.children(worker.pid)])
    settle = functools.partial(wait_delivered, database_url)
    stats, run = asyncio.run(drive(base_url, args, ports["hooks"], settle))
    cpu_after = hs.cpu_seconds(workers), hs.cpu_seconds([worker.pid, *hs.children(worker.pid)])
    time.sleep(3)  # let the worker finish what the last requests queued
    return {
        "stats": stats,
        "run": run,
        "rss": [hs.rss_mib(pid) for pid in hs.children(web.pid)],
        "load": os.getloadavg(),
        "server_cpu": (cpu_after[0] - cpu_before[0]) / run["seconds"],
        "worker_cpu": (cpu_after[1] - cpu_before[1]) / run["seconds"],
        "delivered": delivered(database_url, since),
    }


def pace(args) -> str:
    return f", {args.think:g} s mean think time" if args.think else ", back to back"


def print_result(title: str, result: dict) -> None:
    run = result["run"]
    print(f"\n== {title}: {run['seconds']:.0f} s measured ==")
    for line in httpload.format_rows(result["stats"].rows(run["seconds"])):
        print(line)
    for page, row in result["stats"].rows(run["seconds"]).items():
        if row["first_error"]:
            print(f"  first error on {page}: {row['first_error']}")
    if result["stats"].retries:
        print(f"  GETs sent again after a closed keep-alive connection: {result['stats'].retries}")
    rss = ", ".join(f"{mib:.0f}" for mib in result["rss"])
    print(f"RSS per gunicorn worker (MiB): {rss}")
    print(
        f"CPU (share of one core): gunicorn workers {result['server_cpu']:.2f}, "
        f"Celery worker {result.get('worker_cpu', 0):.2f}, "
        f"load generator {run['cpu_share']:.2f} on {os.cpu_count()} CPUs"
    )
    load = ", ".join(f"{x:.1f}" for x in result["load"])
    print(f"load average at the end (1, 5, 15 min; the machine is shared): {load}")
    if "delivered" in result:
        print(f"delivered during the run: {result['delivered']}")
    if run.get("settled_s") is not None:
        print(f"waited {run['settled_s']:.0f} s for the worker to send what the mix left due")
    if run.get("capacity"):
        print("\neach page type on its own (one at a time, the same number of users back to back):")
        for line in httpload.format_rows(run["capacity"]):
            print(line)


def print_targets(result: dict) -> None:
    rows = result["stats"].rows(result["run"]["seconds"])
    slow = {page: row["p95"] for page, row in rows.items() if row["p95"] >= TARGET_P95_MS}
    errors = result["stats"].total_errors()
    print(f"\ntarget p95 < {TARGET_P95_MS:.0f} ms on every page: ", end="")
    print(
        "met"
        if not slow
        else "missed on " + ", ".join(f"{p} ({v:.0f} ms)" for p, v in slow.items())
    )
    print(f"target 0 errors: {'met' if not errors else f'missed ({errors} errors)'}")


def main() -> None:
    args = parse_args()
    run_id = str(os.getpid())
    with tempfile.TemporaryDirectory(prefix=f"bench-http-{run_id}-") as tmp:
        started = time.perf_counter()
        ours = None if args.peer_only else run_eservice(args, run_id, Path(tmp))
        if ours:
            print_result(f"eService at {args.size}, {args.users} users{pace(args)}", ours)
            print_targets(ours)
        if args.peer_dir and args.peer_python:
            import peer_helpdesk

            peer = peer_helpdesk.run_peer(args, run_id, Path(tmp))
            print_result(
                f"peer (django-helpdesk) at {peer['size']}, {args.users} users{pace(args)}", peer
            )
            if ours:
                peer_helpdesk.print_ratios(ours, peer)
        else:
            print("\npeer skipped: give --peer-dir and --peer-python (or PEER_DIR, PEER_PYTHON)")
        print(f"\nwhole run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
