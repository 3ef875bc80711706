"""The beat scheduler for several hosts: celery-redbeat, made to outlive Redis outages.

redbeat holds a lock in Redis so that only one beat schedules; a standby beat waits for it.
Out of the box, a Redis outage kills the running beat (the lock cannot be renewed), and a
Redis that comes back empty has lost both the lock and the schedule. Here the beat stands by
instead: while Redis is unreachable it skips ticks, and once its lock is gone it tries to take
it again (without waiting, so it keeps checking), re-storing the schedule from the code when it
does. Another beat may win the lock meanwhile; this one then stays the standby.
"""

import logging

from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)


class Scheduler(RedBeatScheduler):
    def tick(self, *args, **kwargs):
        try:
            if self.lock_key and self.lock is None and not self._take_lock():
                return self.max_interval
            return super().tick(*args, **kwargs)
        except LockError:
            logger.warning("beat: lost the lock; standing by until it can be taken again")
            self.lock = None
        except RedisError as exc:
            logger.warning("beat: Redis unavailable (%s); retrying", exc)
        return self.max_interval

    def _take_lock(self) -> bool:
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        # redbeat's extend sets the timeout anew rather than adding to it.
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            return False
        logger.info("beat: Acquired lock")
        self.lock = lock
        # Redis may have come back empty: the schedule is stored again from the code, keeping
        # the last run of every entry that survived.
        self.setup_schedule()
        return True
