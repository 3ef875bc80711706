"""The test suite's settings: the project's, with a key of its own and a database cache.

DEBUG stays false as in production, so the suite needs a SECRET_KEY (portal.settings refuses
to start without one); processes the tests start inherit it from the environment.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 50)

from portal.settings import *  # noqa: E402, F403

# The shared cache in its database form: each test's counters roll back with it, and a
# cache.clear() never empties a Redis that other runs share. Processes started by tests get
# Redis with a key prefix of their own (tests.isolation).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "eservice_cache",
    }
}
