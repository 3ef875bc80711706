"""Who else has a ticket open in the admin, and who is typing: a short-lived cache entry.

The ticket page polls tickets.admin's presence endpoint every few seconds; each poll
refreshes the caller's entry and returns the others. Entries older than STALE_AFTER are
ignored, and the whole key expires after TTL, so a closed tab disappears on its own.
With several web processes the cache must be shared (Redis); the local-memory cache
serves one process.
"""

import time

from django.core.cache import cache

POLL_SECONDS = 5
STALE_AFTER = 3 * POLL_SECONDS
TTL = 60


def _key(ticket_id: int) -> str:
    return f"desk:presence:{ticket_id}"


def touch(ticket_id: int, user, *, typing: bool, now: float | None = None) -> list[dict]:
    """Record that ``user`` has the ticket open (and whether typing); return the others."""
    now = time.time() if now is None else now
    entries = {
        uid: entry
        for uid, entry in (cache.get(_key(ticket_id)) or {}).items()
        if now - entry["seen"] < STALE_AFTER
    }
    entries[str(user.pk)] = {
        "name": user.get_full_name() or user.get_username(),
        "typing": typing,
        "seen": now,
    }
    cache.set(_key(ticket_id), entries, TTL)
    return [
        {"name": entry["name"], "typing": entry["typing"]}
        for uid, entry in sorted(entries.items())
        if uid != str(user.pk)
    ]


def leave(ticket_id: int, user) -> None:
    entries = cache.get(_key(ticket_id)) or {}
    if entries.pop(str(user.pk), None) is not None:
        cache.set(_key(ticket_id), entries, TTL)
