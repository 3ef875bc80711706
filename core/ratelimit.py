"""Fixed-window counters in the shared cache (settings.CACHES: Redis or the database), so
every process counts together. accounts.throttle (sign-in), tickets.limits (ticket floods)
and the mail intake use them."""

import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache


def key(kind: str, value) -> str:
    """A cache key for one counted thing; the value is hashed (addresses, usernames)."""
    digest = hashlib.sha256(str(value).strip().lower().encode()).hexdigest()[:32]
    return f"ratelimit:{kind}:{digest}"


def wait_seconds(name: str, limit: int, window: int) -> int:
    """0 while fewer than `limit` hits fell in the current window, else the seconds left."""
    found = cache.get_many([name, name + ":t"])  # one round trip
    started = found.get(name + ":t")
    if started is None:
        return 0
    left = math.ceil(started + window - time.time())
    if left <= 0 or found.get(name, 0) < limit:
        return 0
    return left


def hit(name: str, window: int) -> None:
    """Count one hit; the first opens a window of `window` seconds."""
    if cache.add(name + ":t", time.time(), window):
        cache.set(name, 0, window)
    try:
        cache.incr(name)
    except ValueError:  # the window expired between the two calls: a new one
        cache.set(name + ":t", time.time(), window)
        cache.set(name, 1, window)


def hits_many(names, window: int) -> dict[str, int]:
    """The hits of each name's current window (0 when none is open), in one round trip:
    what wait_seconds() compares with its limit, for many names."""
    names = list(names)
    found = cache.get_many([*names, *(name + ":t" for name in names)])
    now = time.time()
    hits = {}
    for name in names:
        started = found.get(name + ":t")
        open_ = started is not None and math.ceil(started + window - now) > 0
        hits[name] = found.get(name, 0) if open_ else 0
    return hits


def hit_many(counts: dict[str, int], window: int) -> None:
    """hit() `n` times for each name → on Redis one round trip for them all, elsewhere one
    name at a time."""
    counts = {name: n for name, n in counts.items() if n > 0}
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        _hit_many_redis(backend, counts, window)
        return
    for name, n in counts.items():
        hit(name, window)
        if n > 1:
            cache.incr(name, n - 1)


def _hit_many_redis(backend: RedisCache, counts: dict[str, int], window: int) -> None:
    """hit()'s writes as one pipeline: open a window where none is, then add the hits. A
    window that expires between its two keys' ends (milliseconds apart) may lose these
    hits; hit() has the same race between its calls."""
    if not counts:
        return
    client = backend._cache.get_client(None, write=True)
    # Stored as set() stores it (the stubs omit the client's serializer).
    started = backend._cache._serializer.dumps(time.time())  # type: ignore[attr-defined]
    pipeline = client.pipeline()
    for name, n in counts.items():
        key = backend.make_and_validate_key(name)
        pipeline.set(backend.make_and_validate_key(name + ":t"), started, ex=window, nx=True)
        pipeline.set(key, 0, ex=window, nx=True)
        pipeline.incrby(key, n)
    pipeline.execute()


def count(name: str, window: int) -> int:
    """Count one hit → the hits so far in this window. One cache call while a window is open
    (the common case), where wait_seconds() then hit() would take two."""
    try:
        return cache.incr(name)
    except ValueError:  # no window yet, or it expired
        hit(name, window)
        return 1


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for proxy in getattr(settings, "TRUSTED_PROXIES", []):
        try:
            if ip in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request) -> str:
    """The peer, or the nearest untrusted address its trusted proxies name in X-Forwarded-For."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not _trusted(address):
        return address
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([a for a in forwarded if a]):
        if not _trusted(hop):
            return hop
    return address
