"""Loads a benchmark database with N realistic tickets and their comments, in minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/datagen.py \\
        --tickets 1000000

Never touches the database named in DATABASE_URL: it fills `eservice_data_<size>` (e.g.
`eservice_data_1m`, or --database NAME) on the same server, created and migrated if missing.
A database that already holds N tickets is left as it is (--force reloads it), so every
benchmark can call `ensure_dataset()` and share one load per size.

What it loads: 200 organizations of very different sizes in the three regions (a fifth of
them French-speaking), 5 clients each, 20 staff; tickets spread over three years, newest
with the highest ids, mostly resolved or closed and a few thousand open at any size, with
the features, priorities, channels and assignees a support desk sees; one to three comments
each (a fifth of them internal notes), English or French. The rows are generated inside
PostgreSQL (INSERT … SELECT over generate_series, the server-side equivalent of COPY) with the
list indexes dropped during the load and rebuilt after, in two parallel sessions.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORGANIZATIONS = 200
CLIENTS_PER_ORG = 5
STAFF = 20
SEED = 0.4242

SIZE_NAMES = {10_000: "10k", 100_000: "100k", 1_000_000: "1m", 10_000_000: "10m"}

FEATURES = ["session_replay", "heatmaps", "zoning", "workspace", "other"]
SUBJECT_EN = {
    "session_replay": "Session replay",
    "heatmaps": "Heatmap",
    "zoning": "Zoning overlay",
    "workspace": "Workspace",
    "other": "Login",
}
SUBJECT_FR = {
    "session_replay": "Le replay de session",
    "heatmaps": "La heatmap",
    "zoning": "Le zoning",
    "workspace": "L'espace de travail",
    "other": "La connexion",
}
PROBLEMS_EN = [
    "not loading",
    "stays blank",
    "is very slow",
    "shows the wrong data",
    "crashes the browser",
    "has missing pages",
    "times out",
    "is out of date",
]
PROBLEMS_FR = [
    "ne se charge pas",
    "reste vide",
    "est très lent",
    "affiche des données fausses",
    "bloque le navigateur",
    "a des pages manquantes",
    "expire",
    "n'est pas à jour",
]
PLACES_EN = ["on checkout", "on the home page", "on mobile", "for one segment", "since Monday"]
PLACES_FR = ["sur le panier", "sur l'accueil", "sur mobile", "pour un segment", "depuis lundi"]
BODIES_EN = [
    "Since this morning our analysts cannot open the recordings of the checkout funnel.",
    "The page stays grey after the spinner; the console shows a 504 from the collector.",
    "We checked with two browsers and cleared the cache, the problem is still there.",
    "Numbers in the export do not match what the dashboard displays for last week.",
    "Customers on iOS are missing from the segment although the tag fires correctly.",
    "Please have a look urgently, the marketing team presents these figures tomorrow.",
]
BODIES_FR = [
    "Depuis ce matin nos analystes ne peuvent plus ouvrir les enregistrements du tunnel.",
    "La page reste grise après le chargement ; la console affiche une erreur 504.",
    "Nous avons vérifié avec deux navigateurs et vidé le cache, le problème persiste.",
    "Les chiffres de l'export ne correspondent pas au tableau de bord de la semaine dernière.",
    "Les clients iOS manquent dans le segment alors que le tag se déclenche correctement.",
    "Merci de regarder en urgence, l'équipe marketing présente ces chiffres demain.",
]
REPLIES_EN = [
    "Thanks, we are looking into it and will come back to you shortly.",
    "Could you send us the URL of an affected page and the time of the last attempt?",
    "A fix was deployed; please confirm the page displays correctly now.",
    "We reproduced the issue on our side and escalated it to engineering.",
]
REPLIES_FR = [
    "Merci, nous regardons et revenons vers vous rapidement.",
    "Pourriez-vous nous envoyer l'URL d'une page concernée et l'heure du dernier essai ?",
    "Un correctif a été déployé ; merci de confirmer que l'affichage est revenu.",
    "Nous avons reproduit le problème et l'avons transmis à l'équipe technique.",
]
NOTES = [
    "Internal: collector logs show 504s on shard 3, see runbook.",
    "Internal: customer on the legacy tag, suggest upgrade.",
    "Internal: duplicate of an older report, same root cause.",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database", default=None)
    parser.add_argument("--force", action="store_true", help="reload even if already loaded")
    return parser.parse_args()


def database_name(tickets: int) -> str:
    return f"eservice_data_{SIZE_NAMES.get(tickets, str(tickets))}"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not urlsplit(url).scheme.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://user@host:port/db).")
    return url


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def conninfo(url: str) -> str:
    """psycopg wants postgresql:// (django-environ also accepts postgres://)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def ensure_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(conninfo(with_database(url, "postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", flush=True)


def setup_django(url: str) -> None:
    """Point Django at `url` (set up on first use, switched after) and migrate it."""
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
        name = urlsplit(url).path.lstrip("/")
        settings.DATABASES["default"]["NAME"] = name
        connections["default"].settings_dict["NAME"] = name
    else:
        os.environ["DATABASE_URL"] = url
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        import django

        django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def ensure_dataset(tickets: int, database: str | None = None) -> str:
    """Make Django use a database holding `tickets` generated tickets (loaded once per size)."""
    url = server_url()
    name = database or database_name(tickets)
    ensure_database(url, name)
    target = with_database(url, name)
    setup_django(target)
    if ticket_count() != tickets:
        load(target, tickets)
        setup_django(target)
    return target


def ticket_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tickets_ticket")
        return cursor.fetchone()[0]


# -- people ------------------------------------------------------------------------------------


def people() -> tuple[list[int], list[int], list[int], list[bool]]:
    """Organizations, their clients (org-major, CLIENTS_PER_ORG each) and the staff ids."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Organization, User
    from accounts.services import create_organization

    password = make_password("bench-Pass-1")
    orgs, french = [], []
    for n in range(ORGANIZATIONS):
        name = f"Data Org {n:03d}"
        org = Organization.objects.filter(name=name).first()
        if org is None:
            region = ("GMT", "US-EST", "US-PST")[n % 3]
            domain = f"org{n:03d}.data.example"
            org = create_organization(name=name, region=region, email_domains=[domain])
            org.language = "fr" if n % 5 == 0 else "en"
            org.save(update_fields=["language"])
        orgs.append(org.pk)
        french.append(org.language == "fr")
    clients = []
    for n, org_id in enumerate(orgs):
        for k in range(CLIENTS_PER_ORG):
            username = f"data-client-{n:03d}-{k}"
            user = User.objects.filter(username=username).first() or User.objects.create(
                username=username,
                email=f"{username}@org{n:03d}.data.example",
                password=password,
                organization_id=org_id,
            )
            clients.append(user.pk)
    staff = []
    for n in range(STAFF):
        username = f"data-staff-{n:02d}"
        user = User.objects.filter(username=username).first() or User.objects.create(
            username=username, email=f"{username}@vendor.example", password=password, is_staff=True
        )
        staff.append(user.pk)
    return orgs, clients, staff, french


# -- tickets and comments --------------------------------------------------------------------

TICKETS_SQL = """
INSERT INTO tickets_ticket (
  id, subject, description, status, priority, suggested_priority, feature, channel,
  organization_id, reporter_id, assignee_id, received_at, triaged_at, first_response_at,
  resolved_at, closed_at, resolution, user_agent, excluded, exclusion_reason,
  response_due_at, resolution_due_at, response_breached_at, resolution_breached_at,
  response_clock, resolution_clock, paused_since, paused_seconds, next_check_at,
  escalation_level, created_at, updated_at, search_vector)
SELECT n, subject, description, status, priority, priority, feature, channel,
  org_id, reporter_id, assignee_id, received_at, first_response_at, first_response_at,
  resolved_at, closed_at, CASE WHEN resolved_at IS NULL THEN '' ELSE 'Fixed.' END, '',
  excluded, CASE WHEN excluded THEN 'Customer network' ELSE '' END,
  response_due_at, resolution_due_at,
  CASE WHEN coalesce(first_response_at, now()) > response_due_at THEN response_due_at END,
  CASE WHEN coalesce(resolved_at, now()) > resolution_due_at THEN resolution_due_at END,
  'business', 'business', NULL, 0,
  CASE WHEN status IN ('new', 'open') THEN coalesce(resolution_due_at, response_due_at) END,
  0, received_at, received_at,
  tickets_ticket_vector(n, subject, description)
FROM (
  SELECT s.*,
    CASE WHEN status IN ('new') THEN NULL
         ELSE received_at + (r5 * interval '10 hours') END AS first_response_at,
    CASE WHEN status IN ('resolved', 'closed')
         THEN received_at + interval '12 hours' + (r6 * interval '12 days') END AS resolved_at,
    CASE WHEN status = 'closed' THEN received_at + interval '20 days' END AS closed_at,
    CASE WHEN priority = 'P3' THEN NULL
         ELSE received_at + (CASE priority WHEN 'P0' THEN 2 WHEN 'P1' THEN 6 ELSE 8 END)
              * interval '1 hour' END AS response_due_at,
    CASE WHEN priority = 'P3' OR status = 'new' THEN NULL
         ELSE received_at + (r5 * interval '10 hours')
              + (CASE priority WHEN 'P0' THEN 1 WHEN 'P1' THEN 3 ELSE 7 END) * interval '1 day'
         END AS resolution_due_at,
    (%(subject_en)s::text[])[feature_i] || ' ' || (%(problems_en)s::text[])[1 + floor(r7 * 8)::int]
      || ' ' || (%(places_en)s::text[])[1 + floor(r8 * 5)::int] AS subject_en,
    (%(subject_fr)s::text[])[feature_i] || ' ' || (%(problems_fr)s::text[])[1 + floor(r7 * 8)::int]
      || ' ' || (%(places_fr)s::text[])[1 + floor(r8 * 5)::int] AS subject_fr
  FROM (
    SELECT n, org_i, r5, r6, r7, r8, feature_i,
      (%(orgs)s::bigint[])[org_i] AS org_id,
      (%(clients)s::bigint[])[
        (org_i - 1) * %(per_org)s::int + 1 + floor(r2 * %(per_org)s::int)::int
      ] AS reporter_id,
      CASE WHEN r3 < 0.7 THEN (%(staff)s::bigint[])[1 + floor(r4 * %(staff_n)s::int)::int]
      END AS assignee_id,
      (%(features)s::text[])[feature_i] AS feature,
      CASE WHEN r9 < 0.02 THEN 'P0' WHEN r9 < 0.17 THEN 'P1' WHEN r9 < 0.77 THEN 'P2'
           ELSE 'P3' END AS priority,
      CASE WHEN r10 < 0.6 THEN 'web' WHEN r10 < 0.85 THEN 'email' WHEN r10 < 0.95 THEN 'api'
           ELSE 'phone' END AS channel,
      CASE WHEN age_days < 3 AND r11 < 0.85 OR age_days < 30 AND r11 < 0.12 OR r11 < 0.004
           THEN (ARRAY['new', 'open', 'open', 'pending'])[1 + floor(r12 * 4)::int]
           WHEN r12 < 0.25 THEN 'resolved' ELSE 'closed' END AS status,
      r13 < 0.01 AS excluded,
      now() - age_days * interval '1 day' AS received_at,
      (%(french)s::boolean[])[org_i] AS french,
      floor(r14 * 1000)::int AS variant
    FROM (
      SELECT n,
        1 + floor(power(%(org_hash)s, 2.2) * %(orgs_n)s::int)::int AS org_i,
        random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
        random() AS r7, random() AS r8, random() AS r9, random() AS r10, random() AS r11,
        random() AS r12, random() AS r13, random() AS r14,
        1 + floor(random() * 5)::int AS feature_i,
        (%(total)s::bigint - n + random()) * 1095.0 / %(total)s::bigint AS age_days
      FROM generate_series(%(first)s::bigint, %(last)s::bigint) n
    ) raw
  ) s
) t
CROSS JOIN LATERAL (
  SELECT CASE WHEN french THEN subject_fr ELSE subject_en END AS subject,
    CASE WHEN french
      THEN (%(bodies_fr)s::text[])[1 + variant %% 6] || ' '
        || (%(bodies_fr)s::text[])[1 + (variant / 6) %% 6]
      ELSE (%(bodies_en)s::text[])[1 + variant %% 6] || ' '
        || (%(bodies_en)s::text[])[1 + (variant / 6) %% 6]
    END || ' Ref ' || variant AS description
) words
"""

COMMENTS_SQL = """
INSERT INTO tickets_comment (ticket_id, author_id, body, internal, channel, message_id,
                             created_at)
SELECT n, CASE WHEN k %% 2 = 1 THEN (%(staff)s::bigint[])[1 + n %% %(staff_n)s::int] END,
  CASE WHEN internal THEN (%(notes)s::text[])[1 + (n + k) %% 3]
       WHEN french THEN (%(replies_fr)s::text[])[1 + (n + k) %% 4]
       ELSE (%(replies_en)s::text[])[1 + (n + k) %% 4] END,
  internal, 'web', '',
  now() - ((%(total)s::bigint - n) * 1095.0 / %(total)s::bigint) * interval '1 day'
    + k * interval '3 hours'
FROM (
  SELECT n, k, (k = 2 AND (n %% 5) = 0) AS internal,
    (%(french)s::boolean[])[1 + floor(power(%(org_hash)s, 2.2) * %(orgs_n)s::int)::int] AS french
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) n,
       generate_series(1, 1 + (n %% 3)) k
) c
"""


def load(url: str, tickets: int) -> None:
    """Empty the tickets, then fill them in two sessions and rebuild the indexes."""
    import psycopg
    from django.db import connections

    started = time.perf_counter()
    params = _params(tickets, *people())
    connections.close_all()
    info = conninfo(url)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("TRUNCATE tickets_ticket RESTART IDENTITY CASCADE")
        indexes = _drop_indexes(conn)
    halves = [(1, tickets // 2), (tickets // 2 + 1, tickets)]
    _parallel(info, COMMENTS_SQL, params, halves)
    print(f"  comments loaded in {time.perf_counter() - started:.0f} s", flush=True)
    _parallel(info, TICKETS_SQL, params, halves)
    print(f"  tickets loaded in {time.perf_counter() - started:.0f} s", flush=True)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for statement in indexes:
            conn.execute(statement)
        conn.execute("DROP TABLE datagen_index_stash")
        conn.execute(f"SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), {tickets})")
        # What autovacuum would have done by now: statistics and the visibility map.
        conn.execute("VACUUM ANALYZE tickets_ticket")
        conn.execute("VACUUM ANALYZE tickets_comment")
    print(f"loaded {tickets:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)


def _params(tickets, orgs, clients, staff, french) -> dict:
    def en_fr(mapping):
        return [mapping[f] for f in FEATURES]

    return {
        "orgs": orgs,
        "orgs_n": len(orgs),
        "clients": clients,
        "per_org": CLIENTS_PER_ORG,
        "staff": staff,
        "staff_n": len(staff),
        "french": french,
        "features": FEATURES,
        "subject_en": en_fr(SUBJECT_EN),
        "subject_fr": en_fr(SUBJECT_FR),
        "problems_en": PROBLEMS_EN,
        "problems_fr": PROBLEMS_FR,
        "places_en": PLACES_EN,
        "places_fr": PLACES_FR,
        "bodies_en": BODIES_EN,
        "bodies_fr": BODIES_FR,
        "replies_en": REPLIES_EN,
        "replies_fr": REPLIES_FR,
        "notes": NOTES,
        "total": tickets,
    }


# Which organization a ticket belongs to, from its number alone (Knuth's multiplicative hash),
# so the comments know their ticket's language before the tickets exist. Squared-ish: the
# first organizations are the biggest customers.
ORG_HASH = "((n::bigint * 2654435761) %% 4294967296) / 4294967296.0"


def _drop_indexes(conn) -> list[str]:
    """Drop the ticket indexes (not the key) for the load; return how to create them again.

    The definitions are kept in a table until the indexes exist again, so a load that
    failed half-way still knows them next time.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS datagen_index_stash (name text PRIMARY KEY, def text)")
    conn.execute(
        "INSERT INTO datagen_index_stash SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = 'tickets_ticket' AND indexname <> 'tickets_ticket_pkey' "
        "ON CONFLICT (name) DO NOTHING"
    )
    rows = conn.execute("SELECT name, def FROM datagen_index_stash ORDER BY name").fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    return [definition for _, definition in rows]


def _parallel(info: str, statement: str, params: dict, ranges) -> None:
    """Run `statement` once per id range, each in its own session, at the same time."""
    import psycopg

    errors = []

    def run(first, last):
        try:
            with psycopg.connect(info) as conn:
                # Rows reference each other in both directions during the load; the
                # foreign keys are re-checked by nothing, so the generator must be right.
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET work_mem = '64MB'")
                conn.execute("SELECT setseed(%s)", [SEED * first / (last or 1) % 1])
                sql = statement.replace("%(org_hash)s", ORG_HASH)
                conn.execute(sql, {**params, "first": first, "last": last})
        except Exception as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=span) for span in ranges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def main():
    args = parse_args()
    url = server_url()
    name = args.database or database_name(args.tickets)
    ensure_database(url, name)
    target = with_database(url, name)
    setup_django(target)
    count = ticket_count()
    if count == args.tickets and not args.force:
        print(f"{name} already holds {count:,} tickets (--force reloads it)")
        return
    load(target, args.tickets)


if __name__ == "__main__":
    main()
