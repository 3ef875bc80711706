"""The database a benchmark owns: created afresh next to the one DATABASE_URL names."""

import os
import sys


def _server(base: dict) -> dict:
    return dict(
        host=base["HOST"] or "127.0.0.1",
        port=base["PORT"] or 5432,
        user=base["USER"],
        password=base["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def drop_database(name: str) -> None:
    """Drop database `name` on DATABASE_URL's server (the benchmark's own, at its end)."""
    import environ
    import psycopg
    from django.db import connections

    connections.close_all()
    base = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    with psycopg.connect(**_server(base)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(name: str) -> None:
    """Drop and create database `name` on DATABASE_URL's PostgreSQL server and point
    DATABASE_URL at it (before Django is set up)."""
    import environ
    import psycopg

    base = environ.Env.db_url_config(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eservice")
    )
    if not base["ENGINE"].endswith("postgresql"):
        sys.exit("DATABASE_URL must point to PostgreSQL")
    conninfo = _server(base)
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = base["USER"] + (f":{base['PASSWORD']}" if base["PASSWORD"] else "")
    os.environ["DATABASE_URL"] = f"postgres://{auth}@{conninfo['host']}:{conninfo['port']}/{name}"
