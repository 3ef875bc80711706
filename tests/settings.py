"""The test suite's settings: the project's, with a key of its own and a database cache.

DEBUG stays false as in production; the suite signs with a key of its own rather than one
generated into a var directory, and the processes the tests start inherit it.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)

from portal.settings import *  # noqa: E402, F403

# In-process memory, emptied before each test (conftest): a cache.clear() never empties a
# Redis that other runs share, and query counts stay those of production with Redis. Tests of
# the shared cache start processes on Redis with a key prefix of their own (tests.isolation),
# or switch to the database cache (test_security_throttle).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A replica alias that is the test database itself (TEST MIRROR), for the router's tests;
# reads go there only where a test turns DATABASE_REPLICA_READS on (tests/test_replica.py).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
DATABASE_REPLICA_READS = False

# Inbound mail is processed in the request (no worker); tests of the queue turn it off.
MAIL_INTAKE_INLINE = True
