"""The shared cache on Redis, made safe to share, and incr() in one round trip.

Django's RedisCache.clear() sends FLUSHDB: on a Redis database that also holds the Celery
queues, the beat lock, or another deployment's keys (CELERY_BROKER_KEY_PREFIX and
CACHE_KEY_PREFIX exist so that several can share one), that would empty them all. Here
clear() removes this cache's own keys (its KEY_PREFIX) and nothing else.

Django's incr() sends EXISTS then INCRBY: two round trips on every counted request (the
ticket flood limit counts each API creation). Here one script does both, with the same
answer: the new value, or ValueError for a missing key.
"""

import hashlib

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError

INCR_IF_EXISTS = (
    "if redis.call('exists', KEYS[1]) == 1 then "
    "return redis.call('incrby', KEYS[1], ARGV[1]) end return false"
)
# Redis names a script by its SHA-1.
INCR_SHA = hashlib.sha1(INCR_IF_EXISTS.encode(), usedforsecurity=False).hexdigest()


class PrefixedRedisCache(RedisCache):
    # Django's RedisCache.clear() returns a bool (FLUSHDB's answer); the stubs give it
    # BaseCache's None.
    def clear(self) -> bool:  # type: ignore[override]
        client = self._cache.get_client(None, write=True)
        pattern = f"{self.key_prefix}:*" if self.key_prefix else ":*"
        removed = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                removed += client.delete(*batch)
                batch = []
        if batch:
            removed += client.delete(*batch)
        return removed > 0

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        client = self._cache.get_client(key, write=True)
        try:
            value = client.evalsha(INCR_SHA, 1, key, delta)
        except NoScriptError:  # first use on this server (or after SCRIPT FLUSH): load it
            value = client.eval(INCR_IF_EXISTS, 1, key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value
