"""The read-replica router: reports and statements read on the replica, writes never do."""

import datetime

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from sla.availability import reports, services, statement
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

MONTH = datetime.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def close_replica():
    """The replica alias has a connection of its own; left open, the test database cannot
    be dropped at the end of the run."""
    yield
    connections["replica"].close()


@pytest.fixture
def replica_on(settings):
    settings.DATABASE_REPLICA_READS = True


def test_reports_and_statements_read_on_the_replica(replica_on, alice):
    org = alice.organization
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        reports.compliance(MONTH)
        reports.satisfaction(MONTH)
        statement.build(org, MONTH)
        services.availability_history(org, 3)
    assert len(on_replica) >= 6
    assert not on_default.captured_queries


def test_reads_outside_the_scope_stay_on_default(replica_on, alice):
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert Ticket.objects.count() == 0
    assert not on_replica.captured_queries


def test_a_write_transaction_reads_its_own_writes_on_default(replica_on, alice):
    with (
        transaction.atomic(),
        CaptureQueriesContext(connections["replica"]) as on_replica,
    ):
        statement.build(alice.organization, MONTH)
    assert not on_replica.captured_queries


def test_without_the_setting_everything_uses_default(alice):
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        reports.compliance(MONTH)
        statement.build(alice.organization, MONTH)
    assert not on_replica.captured_queries


def test_writes_go_to_default_even_in_scope():
    from django.db import router

    from core.replica import on_replica

    assert on_replica(lambda: router.db_for_write(Ticket))() == "default"
