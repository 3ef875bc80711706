"""The cache shares its Redis database with the Celery queues and other deployments: emptying
it must remove its own keys only."""

import os

import pytest
import redis

from core.cache import PrefixedRedisCache
from tests.isolation import redis_key_prefix

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def client():
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


def make_cache(prefix: str) -> PrefixedRedisCache:
    return PrefixedRedisCache(REDIS_URL, {"KEY_PREFIX": prefix})


def test_clear_removes_this_caches_keys_and_leaves_everything_else(client):
    mine, theirs = make_cache(redis_key_prefix("cache-a")), make_cache(redis_key_prefix("cache-b"))
    queue = f"{redis_key_prefix('broker')}celery"
    try:
        mine.set_many({f"k{i}": i for i in range(2500)})  # more than one SCAN batch
        theirs.set("throttle", 7)
        client.rpush(queue, "a queued task")

        assert mine.clear() is True

        assert mine.get_many([f"k{i}" for i in range(2500)]) == {}
        assert theirs.get("throttle") == 7
        assert client.lrange(queue, 0, -1) == [b"a queued task"]
        assert mine.clear() is False  # nothing left to remove
    finally:
        theirs.clear()
        client.delete(queue)


def test_incr_counts_in_one_round_trip_and_refuses_a_missing_key(monkeypatch):
    cache = make_cache(redis_key_prefix("cache-incr"))
    try:
        cache.set("hits", 1)
        sent = []
        connection_class = redis.connection.Connection
        real = connection_class.send_packed_command

        def counted(conn, *args, **kwargs):
            sent.append(1)
            return real(conn, *args, **kwargs)

        monkeypatch.setattr(connection_class, "send_packed_command", counted)
        assert cache.incr("hits") == 2
        assert len(sent) == 1
        assert cache.incr("hits", 5) == 7 and cache.decr("hits", 3) == 4
        with pytest.raises(ValueError):
            cache.incr("missing")
        assert cache.get("missing") is None  # not created by the refused incr
    finally:
        cache.clear()
