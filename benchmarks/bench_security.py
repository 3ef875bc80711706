"""What the security hardening costs per request, against the unprotected path in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything REDIS_URL=redis://127.0.0.1:6379/0 \\
        python benchmarks/bench_security.py

Uses a throwaway database on the same server (`eservice_bench_security`, or --database) and
keys under its own prefix in Redis. Prints, per operation, µs per call and queries per call:

- token authentication: the hashed, expiring key (one query with the user's organization,
  contract and plan) against the same ORM lookup by the stored value, with no hashing and no
  expiry (what the former key-in-clear scheme did);
- the shared-cache rate limit (core.ratelimit: one check and one hit, as a ticket creation
  or a failed sign-in does) on Redis, against doing nothing;
- a token API request end to end (GET /api/v1/users/me/ through the in-process API client).
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_api import bench_url, drop_database, ensure_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="eservice_bench_security")
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--drop", action="store_true")
    return parser.parse_args()


def setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "k" * 40)
    os.environ["CACHE_KEY_PREFIX"] = f"bench-security-{uuid.uuid4().hex[:8]}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(label: str, calls: int, fn) -> tuple[float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm-up
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - started
    micros = elapsed * 1e6 / calls
    print(f"{label:<58} {micros:9.1f} µs/call  {len(queries) / calls:4.1f} queries/call")
    return micros, len(queries) / calls


def main():
    args = parse_args()
    url = bench_url(args.database)
    ensure_database(url, args.database)
    setup(url)

    from accounts import tokens
    from accounts.authentication import TokenAuthentication
    from accounts.models import ApiToken, User
    from accounts.services import create_organization
    from core import ratelimit

    org = create_organization(name=f"Bench {uuid.uuid4().hex[:6]}", region="GMT", email_domains=[])
    person = User.objects.create_user(
        username=f"bench-{uuid.uuid4().hex[:6]}", password="bench-Pass-1", organization=org
    )
    key = tokens.issue(person)
    auth = TokenAuthentication()
    stored = tokens.digest(key)
    rows = ApiToken.objects.select_related("user__organization__contract__plan")

    def clear_lookup():
        rows.get(digest=stored)

    cache = os.environ.get("REDIS_URL") or "database"
    print(f"{args.calls} calls each; database {args.database}, cache {cache}")
    base, _ = timed("baseline: lookup as stored, same joins, no expiry", args.calls, clear_lookup)
    hashed, _ = timed(
        "hashed expiring token (accounts.tokens.find)",
        args.calls,
        lambda: auth.authenticate_credentials(key),
    )
    print(f"{'':<58} ratio {hashed / base:.2f}× the baseline")

    name = ratelimit.key("bench", uuid.uuid4().hex)
    nothing, _ = timed("baseline: no rate limit", args.calls, lambda: None)
    limited, _ = timed(
        "rate limit: check + hit in the shared cache",
        args.calls,
        lambda: ratelimit.wait_seconds(name, 10**9, 3600) or ratelimit.hit(name, 3600),
    )
    print(f"{'':<58} +{limited - nothing:.1f} µs per limited action")

    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    timed(
        "GET /api/v1/users/me/ with the token (end to end)",
        max(args.calls // 4, 50),
        lambda: client.get("/api/v1/users/me/"),
    )
    if args.drop:
        drop_database(url, args.database)


if __name__ == "__main__":
    main()
