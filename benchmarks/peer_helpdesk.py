"""The peer for bench_http.py: django-helpdesk, run from its own source and virtualenv (none
of its code is in this repository), on a PostgreSQL dataset shaped like datagen's.

Generated at run time into the run's temporary directory: a settings module (PostgreSQL,
DEBUG off, mail to the same SMTP sink, the public pages and the API on, as its demo site has
them), a WSGI module, and a seed script run with the peer's interpreter (queues, users).
Tickets and follow-ups are then inserted by SQL (INSERT … SELECT over generate_series, as
datagen does) into `peer_helpdesk_<size>`, loaded once per size and copied per run.

Shape: one queue per datagen organization (200), 20 staff, 5 clients per queue who submit
its tickets; tickets over three years, mostly closed, a few thousand open, one to three
follow-ups each (a fifth of the third ones private). The peer has no organizations, SLA or
notifications outbox: it mails from the request.

Matching pages (same 16 users, same personas, same weights where the peer has the page):
    staff_desk    its ticket list: the page, then the rows it fetches (datatables JSON)
    staff_search  the same with ?q=<term> (its keyword search)
    staff_ticket  its ticket page
    staff_triage  its ticket update form (a priority change)
    client_list   "my tickets": the page, then the rows it fetches (API user_tickets)
    client_open   its public ticket view (ticket id and the submitter's e-mail)
    api_create    its API ticket creation (staff only in the peer: a staff session)
The client reply has no match (the peer's customers reply by e-mail only).
"""

import asyncio
import base64
import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import bench_http
import datagen
import http_servers as hs
import httpload
from httpload import VirtualUser

QUEUES = datagen.ORGANIZATIONS
CLIENTS_PER_QUEUE = datagen.CLIENTS_PER_ORG
STAFF = datagen.STAFF
PASSWORD = bench_http.PASSWORD
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
ROW_LINK = re.compile(r"/tickets/(\d+)/")
# The columns its datatable asks for (ticket_list.html): the view sorts by them.
DATATABLES = "draw=1&start=0&length=25&order%5B0%5D%5Bcolumn%5D=5&order%5B0%5D%5Bdir%5D=desc"

SETTINGS = """
import os
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ["PEER_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "bootstrap4form", "helpdesk",
    "rest_framework",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demodesk.config.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
HELPDESK_DEFAULT_SETTINGS = {
    "use_email_as_submitter": True, "email_on_ticket_assign": True,
    "email_on_ticket_change": True, "login_view_ticketlist": True,
    "email_on_ticket_apichange": True, "preset_replies": True, "tickets_per_page": 25,
}
HELPDESK_PUBLIC_ENABLED = True
HELPDESK_VIEW_A_TICKET_PUBLIC = True
HELPDESK_SUBMIT_A_TICKET_PUBLIC = True
HELPDESK_KB_ENABLED = True
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_REDIRECT_TO_LOGIN_BY_DEFAULT = False
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["PEER_DATABASE"],
    "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432", "CONN_MAX_AGE": 60,
}}
SITE_ID = 1
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("PEER_SMTP_PORT", "25"))
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
MEDIA_ROOT = str(BASE_DIR / "media")
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""

WSGI = """
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""

SEED = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from helpdesk.models import Queue
User = get_user_model()
password = make_password("%(password)s")
for n in range(%(queues)d):
    Queue.objects.get_or_create(slug=f"q{n:03d}", defaults={
        "title": f"Data Org {n:03d}", "email_address": f"support-{n:03d}@example.com",
        "allow_public_submission": True})
for n in range(%(staff)d):
    User.objects.get_or_create(username=f"data-staff-{n:02d}", defaults={
        "email": f"data-staff-{n:02d}@vendor.example", "password": password,
        "is_staff": True, "is_superuser": True})
for n in range(%(queues)d):
    for k in range(%(clients)d):
        name = f"data-client-{n:03d}-{k}"
        User.objects.get_or_create(username=name, defaults={
            "email": f"{name}@org{n:03d}.data.example", "password": password})
"""

# Ticket n belongs to queue org_i (datagen's hash: the first queues are the biggest) and is
# submitted by one of that queue's clients; status 1 open, 2 reopened, 3 resolved, 4 closed.
TICKETS_SQL = """
INSERT INTO helpdesk_ticket (id, title, queue_id, created, modified, submitter_email,
  assigned_to_id, status, on_hold, description, resolution, priority, due_date,
  last_escalation, secret_key, kbitem_id, merged_to_id)
SELECT n, (ARRAY['Session replay','Heatmap','Zoning overlay','Workspace','Login'])[1 + n %% 5]
    || ' ' || (ARRAY['not loading','stays blank','is very slow','shows the wrong data',
    'times out'])[1 + (n / 5) %% 5] || ' on checkout',
  q.id, received, received + interval '2 hours',
  'data-client-' || lpad((org_i - 1)::text, 3, '0') || '-' || (n %% 5) || '@org'
    || lpad((org_i - 1)::text, 3, '0') || '.data.example',
  CASE WHEN n %% 10 < 7 THEN %(first_staff)s + n %% 20 END,
  CASE WHEN age_days < 3 OR n %% 250 = 0 THEN 1 WHEN n %% 4 = 0 THEN 3 ELSE 4 END,
  false, 'Since this morning our analysts cannot open the recordings. Ref ' || n, '',
  1 + n %% 5, NULL, NULL, md5(n::text), NULL, NULL
FROM (
  SELECT n, 1 + floor(power(%(org_hash)s, 2.2) * %(queues)s)::int AS org_i,
    (%(total)s - n) * 1095.0 / %(total)s AS age_days,
    now() - ((%(total)s - n) * 1095.0 / %(total)s) * interval '1 day' AS received
  FROM generate_series(1, %(total)s) n
) t JOIN helpdesk_queue q ON q.slug = 'q' || lpad((org_i - 1)::text, 3, '0')
"""

FOLLOWUPS_SQL = """
INSERT INTO helpdesk_followup (ticket_id, date, title, comment, public, user_id, new_status,
  message_id, time_spent)
SELECT n, now() - ((%(total)s - n) * 1095.0 / %(total)s) * interval '1 day' + k * interval '3 h',
  'Comment', 'Thanks, we are looking into it and will come back to you shortly.',
  NOT (k = 3 AND n %% 5 = 0), %(first_staff)s + n %% 20, NULL, NULL, NULL
FROM generate_series(1, %(total)s) n, generate_series(1, 1 + n %% 3) k
"""


def peer_env(args, tmp: Path, database: str, smtp_port: int) -> dict:
    peer_dir = Path(args.peer_dir).resolve()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(
        DJANGO_SETTINGS_MODULE="peer_settings",
        PYTHONPATH=os.pathsep.join([str(tmp), str(peer_dir / "src"), str(peer_dir)]),
        PEER_SECRET_KEY="bench-http-peer-" + "p" * 40,
        PEER_DATABASE=database,
        PEER_SMTP_PORT=str(smtp_port),
    )
    return env


def write_modules(tmp: Path) -> None:
    (tmp / "peer_settings.py").write_text(SETTINGS)
    (tmp / "peer_wsgi.py").write_text(WSGI)
    seed = SEED % {
        "password": PASSWORD,
        "queues": QUEUES,
        "staff": STAFF,
        "clients": CLIENTS_PER_QUEUE,
    }
    (tmp / "peer_seed.py").write_text(seed)


def peer_run(args, env: dict, *argv: str) -> None:
    subprocess.run(
        [args.peer_python, *argv], env=env, check=True, cwd=env["PYTHONPATH"].split(os.pathsep)[0]
    )  # noqa: S603


def ensure_peer_dataset(args, tmp: Path, admin: str, tickets: int) -> str:
    """`peer_helpdesk_<size>`, migrated and loaded once; reused while it holds `tickets`."""
    import psycopg

    name = f"peer_helpdesk_{args.peer_size}"
    base = datagen.server_url()
    info = datagen.conninfo(datagen.with_database(base, name))
    if hs.database_exists(admin, name):
        if peer_ticket_count(info) == tickets:
            return name
        hs.drop_database(admin, name)
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = peer_env(args, tmp, name, 25)
    peer_run(args, env, "-m", "django", "migrate", "--noinput", "-v0")
    peer_run(args, env, str(tmp / "peer_seed.py"))
    load_peer_rows(info, tickets)
    print(f"  loaded the peer with {tickets:,} tickets in {time.perf_counter() - started:.0f} s")
    return name


def peer_ticket_count(info: str) -> int:
    import psycopg

    with psycopg.connect(info) as conn:
        try:
            return conn.execute("SELECT count(*) FROM helpdesk_ticket").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return -1  # a load that failed before the migration


def load_peer_rows(info: str, tickets: int) -> None:
    import psycopg

    with psycopg.connect(info, autocommit=True) as conn:
        first_staff = conn.execute(
            "SELECT min(id) FROM auth_user WHERE username LIKE 'data-staff-%%'"
        ).fetchone()[0]
        params = {"total": tickets, "queues": QUEUES, "first_staff": first_staff}
        conn.execute("SET work_mem = '64MB'")
        conn.execute(TICKETS_SQL.replace("%(org_hash)s", datagen.ORG_HASH), params)
        conn.execute(FOLLOWUPS_SQL, params)
        conn.execute(f"SELECT setval(pg_get_serial_sequence('helpdesk_ticket', 'id'), {tickets})")
        conn.execute("VACUUM ANALYZE helpdesk_ticket")
        conn.execute("VACUUM ANALYZE helpdesk_followup")


# -- the peer's mix ---------------------------------------------------------------------------


def list_query(search: str = "") -> str:
    """The base64 query its list page hands to its datatable (helpdesk.query)."""
    params = {
        "filtering": {"status__in": [1, 2]} if not search else {},
        "filtering_null": {},
        "sorting": "created",
        "sortreverse": True,
        "search_string": search,
    }
    return base64.urlsafe_b64encode(json.dumps(params).encode()).decode()


async def staff_list(user: VirtualUser, page: str, search: str = "") -> None:
    async def load():
        await user.call("GET", "/tickets/", params={"q": search} if search else None)
        rows = await user.call("GET", f"/datatables_ticket_list/{list_query(search)}?{DATATABLES}")
        return rows.json()

    data = await user.timed(page, load)
    if data and not search:
        rows = {str(row["id"]): (row["queue"]["id"], row["title"]) for row in data["data"]}
        user.known["rows"] = rows or user.known.get("rows", {})
        user.known["ids"] = list(user.known["rows"])


async def staff_desk(user: VirtualUser) -> None:
    await staff_list(user, "staff_desk")


async def staff_search(user: VirtualUser) -> None:
    await staff_list(user, "staff_search", user.rng.choice(bench_http.SEARCHES))


async def staff_ticket(user: VirtualUser) -> None:
    if not user.known.get("ids"):
        return await staff_desk(user)
    pk = user.rng.choice(user.known["ids"])
    await user.timed("staff_ticket", lambda: user.call("GET", f"/tickets/{pk}/"))


async def staff_triage(user: VirtualUser) -> None:
    """Its update form, posted as the page would (the CSRF cookie's value is a valid token)."""
    if not user.known.get("ids"):
        return await staff_desk(user)
    pk = user.rng.choice(user.known["ids"])
    queue, title = user.known["rows"][pk]
    data = {
        "csrfmiddlewaretoken": user.http.cookies.get("csrftoken", ""),
        "queue": str(queue),
        "title": title,
        "body": title,
        "new_status": "1",
        "priority": str(user.rng.choice([2, 3])),
        "owner": "-1",
        "comment": "",
    }
    url = f"/tickets/{pk}/update/"
    await user.timed("staff_triage", lambda: user.call("POST", url, expect=(302,), data=data))


async def client_list(user: VirtualUser) -> None:
    async def load():
        await user.call("GET", "/tickets/my-tickets/")
        return (await user.call("GET", "/api/user_tickets/")).json()

    data = await user.timed("client_list", load)
    if data:
        rows = data.get("results", data) if isinstance(data, dict) else data
        ids = [str(row["id"]) for row in rows if isinstance(row, dict) and "id" in row]
        user.known["ids"] = ids or user.known.get("ids", [])


async def client_open(user: VirtualUser) -> None:
    if not user.known.get("ids"):
        return await client_list(user)
    pk = user.rng.choice(user.known["ids"])
    params = {"ticket": f"{user.known['queue']}-{pk}", "email": user.known["email"]}
    await user.timed("client_open", lambda: user.call("GET", "/view/", params=params))


async def client_reply(user: VirtualUser) -> None:
    """No match: the peer's customers reply by mail. The user opens the ticket instead."""
    await client_open(user)


async def api_create(user: VirtualUser) -> None:
    body = {
        "queue": user.known["queue_id"],
        "title": "Heatmap stays blank on checkout (load test)",
        "description": "Created by the HTTP benchmark through the API.",
        "submitter_email": "data-client-000-0@org000.data.example",
        "priority": user.rng.choice([3, 4]),
    }
    headers = user.csrf_header()
    await user.timed(
        "api_create",
        lambda: user.call("POST", "/api/tickets/", expect=(201,), json=body, headers=headers),
    )


ACTIONS = httpload.actions(globals())  # each persona_page coroutine above
MIXES = httpload.mixes(ACTIONS)


async def sign_in(user: VirtualUser, persona: str, n: int) -> None:
    org = n % 10
    if persona == "client":
        name = f"data-client-{org:03d}-{n // 10 % 5}"
        await user.login("/login/", name, PASSWORD, {"next": "/tickets/my-tickets/"})
        user.known.update(queue=f"q{org:03d}", email=f"{name}@org{org:03d}.data.example")
    else:
        # The peer's API creates tickets for staff only: API users are staff sessions.
        await user.login("/login/", f"data-staff-{n:02d}", PASSWORD, {"next": "/tickets/"})
        user.known["queue_id"] = 1


def known_tickets(info: str, user: VirtualUser) -> None:
    """What the user's first list page shows (its newest tickets), read from the database:
    the peer's lists may time out at 1M, and its ticket pages must be measured anyway."""
    import psycopg

    with psycopg.connect(info) as conn:
        if user.known["persona"] == "client":
            query = "SELECT id, queue_id, title FROM helpdesk_ticket WHERE submitter_email = %s"
            rows = conn.execute(f"{query} ORDER BY id DESC LIMIT 25", [user.known["email"]])
        else:
            query = "SELECT id, queue_id, title FROM helpdesk_ticket WHERE status IN (1, 2)"
            rows = conn.execute(f"{query} ORDER BY id DESC LIMIT 25")
        user.known["rows"] = {str(pk): (queue, title) for pk, queue, title in rows}
    user.known["ids"] = list(user.known["rows"])


async def drive(base_url: str, args, info: str) -> tuple[httpload.Stats, dict]:
    stats = httpload.Stats()
    stats.recording = False  # from the end of the warm-up on
    users = [
        VirtualUser(base_url, stats, MIXES[persona], seed=n, persona=persona)
        for n, persona in enumerate(bench_http.personas(args.users))
    ]
    try:
        await asyncio.gather(*(sign_in(u, u.known["persona"], n) for n, u in enumerate(users)))
        for user in users:
            known_tickets(info, user)
        run = await httpload.run_users(users, args.seconds, args.warmup, args.think)
    finally:
        await asyncio.gather(*(u.close() for u in users))
    if args.capacity_seconds:
        known = functools.partial(known_tickets, info)
        run["capacity"] = await bench_http.capacity(
            base_url, args, sign_in, ACTIONS, MATCHING, known=known
        )
    return stats, run


def run_peer(args, run_id: str, tmp: Path) -> dict:
    tmp = tmp / "peer"
    tmp.mkdir()
    write_modules(tmp)
    base = datagen.server_url()
    admin = datagen.conninfo(datagen.with_database(base, "postgres"))
    tickets = SIZES[args.peer_size]
    print(f"\npeer: preparing django-helpdesk with {tickets:,} tickets ...", flush=True)
    source = ensure_peer_dataset(args, tmp, admin, tickets)
    copy = f"peer_bench_http_{run_id}"
    print(f"  copied in {hs.copy_database(admin, source, copy):.0f} s", flush=True)
    ports = {"web": 20000 + int(run_id) % 20000 + 3}
    ports["smtp"] = ports["web"] + 1
    env = peer_env(args, tmp, copy, ports["smtp"])
    try:
        with hs.Processes(tmp) as procs:
            info = datagen.conninfo(datagen.with_database(base, copy))
            return serve_and_drive(args, procs, env, ports, tickets, info)
    finally:
        if not args.keep_database:
            hs.drop_database(admin, copy)


def serve_and_drive(args, procs, env: dict, ports: dict, tickets: int, info: str) -> dict:
    procs.start("smtp", hs.smtp_argv(sys.executable, ports["smtp"]), dict(os.environ), Path.cwd())
    argv = hs.gunicorn_argv(
        args.peer_python, "peer_wsgi", ports["web"], bench_http.WORKERS, bench_http.THREADS
    )
    web = procs.start("web", argv, env, Path(env["PYTHONPATH"].split(os.pathsep)[0]))
    base_url = f"http://127.0.0.1:{ports['web']}"
    try:
        hs.wait_http(f"{base_url}/login/", process=web)
    except RuntimeError:
        print(procs.log_tail("web"))
        raise
    workers = hs.children(web.pid)
    cpu_before = hs.cpu_seconds(workers)
    stats, run = asyncio.run(drive(base_url, args, info))
    return {
        "stats": stats,
        "run": run,
        "rss": [hs.rss_mib(pid) for pid in hs.children(web.pid)],
        "load": os.getloadavg(),
        "server_cpu": (hs.cpu_seconds(workers) - cpu_before) / run["seconds"],
        "size": f"{tickets:,} tickets",
    }


def print_ratios(ours: dict, peer: dict) -> None:
    """eService's page loads per second over the peer's (the baseline), per matching page:
    in the mix, then (with --capacity-seconds) each page type on its own."""
    mine = ours["stats"].rows(ours["run"]["seconds"])
    theirs = peer["stats"].rows(peer["run"]["seconds"])
    print("\nthroughput ratio per matching page in the mix, eService / peer (baseline):")
    print_ratio_rows(mine, theirs)
    if ours["run"].get("capacity") and peer["run"].get("capacity"):
        print("\ncapacity ratio per matching page, each page type on its own, eService / peer:")
        print_ratio_rows(ours["run"]["capacity"], peer["run"]["capacity"])


def print_ratio_rows(mine: dict, theirs: dict) -> None:
    print(f"{'page':<16} {'eService/s':>10} {'peer/s':>8} {'ratio':>7} {'p95 ms':>15}")
    for page in MATCHING:
        if page not in mine or page not in theirs:
            continue
        a, b = mine[page], theirs[page]
        if not b["count"]:
            print(
                f"{page:<16} {a['rate']:10.1f} {'none':>8}  (peer: {b['errors']} errors: "
                f"{b['first_error'][:40]})"
            )
            continue
        p95 = f"{a['p95']:.0f} vs {b['p95']:.0f}"
        print(
            f"{page:<16} {a['rate']:10.1f} {b['rate']:8.1f} {a['rate'] / b['rate']:7.1f} {p95:>15}"
        )


MATCHING = [
    "staff_desk",
    "staff_search",
    "staff_ticket",
    "staff_triage",
    "client_list",
    "client_open",
    "api_create",
]
