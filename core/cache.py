"""The shared cache on Redis, made safe to share.

Django's RedisCache.clear() sends FLUSHDB: on a Redis database that also holds the Celery
queues, the beat lock, or another deployment's keys (CELERY_BROKER_KEY_PREFIX and
CACHE_KEY_PREFIX exist so that several can share one), that would empty them all. Here
clear() removes this cache's own keys (its KEY_PREFIX) and nothing else.
"""

from django.core.cache.backends.redis import RedisCache


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
