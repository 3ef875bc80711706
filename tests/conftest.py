import pytest

from tests.factories import ClientFactory, OrganizationFactory, StaffFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


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
