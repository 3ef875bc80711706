"""Fixed-window counters in the shared cache (settings.CACHES: Redis or the database), so
every process counts together. accounts.throttle (sign-in), tickets.limits (ticket floods)
and the mail intake use them."""

import hashlib
import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import cache


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
