"""One value per test run, so two runs on one machine never share a database, a Redis key
or a queue.

pytest-xdist gives every worker of a run the same PYTEST_XDIST_TESTRUNUID; a run without
xdist makes its own and exports it, so the processes it starts see the same value.
"""

import os
import uuid

RUN_ID = os.environ.setdefault("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:10]


def redis_key_prefix(name: str) -> str:
    """A Redis key prefix that is this run's and this test's alone."""
    return f"test-{RUN_ID}-{name}-{uuid.uuid4().hex[:8]}:"
