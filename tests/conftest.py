import functools

import pytest

from tests.factories import ClientFactory, OrganizationFactory, StaffFactory
from tests.isolation import RUN_ID


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Test database names carry this run's id: two runs on one machine never meet."""
    from pytest_django.fixtures import _set_suffix_to_test_databases

    _set_suffix_to_test_databases(f"run{RUN_ID}")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="module")
def browser():
    """Chromium for the browser tests of one module (tests.browser)."""
    from tests.browser import launched

    yield from launched()


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex")


@pytest.fixture
def alice(org):
    """A client of Acme."""
    return ClientFactory(username="alice", organization=org)


@pytest.fixture
def bob(other_org):
    """A client of another organization."""
    return ClientFactory(username="bob", organization=other_org)


@pytest.fixture
def charlie(db):
    """A support agent."""
    return StaffFactory(username="charlie")


def pytest_configure(config):
    from django.conf import settings

    # Hashing cost is irrelevant to what the tests check and dominates their run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests deliver the outbox themselves (or through a worker's beat re-drive), so a test
    # never publishes delivery tasks to a broker nobody of this run consumes.
    settings.NOTIFICATIONS_QUEUE_ON_COMMIT = False


@functools.cache
def _seed_functions():
    """The data migrations' RunPython functions, in dependency order (all idempotent)."""
    from django.db.migrations import RunPython
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    ordered = []
    for leaf in loader.graph.leaf_nodes():
        for key in loader.graph.forwards_plan(leaf):
            if key not in ordered:
                ordered.append(key)
    ours = {"accounts", "tickets", "mail", "sla", "availability", "escalation"}
    return [
        op.code
        for key in ordered
        if key[0] in ours
        for op in loader.graph.nodes[key].operations
        if isinstance(op, RunPython)
    ]


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Put back the rows data migrations seed (plans, targets, calendars, rules).

    A transactional test (live server, concurrency, real worker) ends with a flush that
    empties every table, seeded ones included; the tests after it still need them.
    """
    uses_db = request.node.get_closest_marker("django_db") or (
        "_django_db_helper" in request.fixturenames
    )
    if not uses_db:
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps

    from accounts.models import Plan

    if not Plan.objects.exists():
        for seed in _seed_functions():
            seed(apps, None)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters (sign-in, ticket floods) start from zero in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """A French request leaves its language active in the thread; the next test would read it."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """In-process caches (calendars, targets, rules) must not outlive a rolled-back test."""
    yield
    from escalation.rules import clear_cache
    from sla.engine import invalidate_calendars, invalidate_targets
    from webhooks.services import forget_endpoints

    invalidate_calendars()
    invalidate_targets()
    clear_cache()
    forget_endpoints()
