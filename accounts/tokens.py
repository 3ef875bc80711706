"""API tokens: issued by the token endpoint, stored hashed, expiring, revocable (spec 8).

Every API request finds its token, user, organization, contract and plan. Each process keeps
the tokens it found, keyed by digest, under a version shared in the cache (Redis): any change
to a token, user, organization, contract or plan gives the version a new value once it is
committed (and empties this process's copies at once), so a revoked token, a deactivated user
or a new password is refused by every process on its next request, for the price of one cache
read instead of a four-join query. A copy is used at most LOCAL_SECONDS, in case a change
bypassed the model signals (QuerySet.update(), SQL).
"""

import datetime
import hashlib
import logging
import pickle
import secrets
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import ApiToken, Contract, Organization, Plan, User

logger = logging.getLogger(__name__)
VERSION_KEY = "apitoken:version"
LOCAL_SECONDS = 30
MAX_LOCAL = 10_000
# digest -> (shared version, time.monotonic() when read, pickled token with its relations)
_local: dict[str, tuple[str, float, bytes]] = {}


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def ttl() -> datetime.timedelta:
    return datetime.timedelta(hours=getattr(settings, "API_TOKEN_TTL_HOURS", 24 * 30))


def issue(user) -> str:
    """A new key for the user (the only time it exists in clear); its expired ones go."""
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    key = secrets.token_hex(20)
    ApiToken.objects.create(digest=digest(key), user=user, created_at=now, expires_at=now + ttl())
    return key


def find(key: str) -> ApiToken | None:
    """The live token for a key, with its user's organization, contract and plan (every client
    request reads them, for tenancy and the SLA engine): this process's copy while the shared
    version is unchanged, else one query."""
    found, now = digest(key), timezone.now()
    version = _shared_version()
    token = _copy(found, version) if version else None
    if token is None:
        token = _query(found, now)
        if token is not None and version:
            _keep(found, version, token)
    return token if token is not None and token.expires_at > now else None


def _query(found: str, now) -> ApiToken | None:
    tokens = ApiToken.objects.select_related("user__organization__contract__plan")
    # The digest is unique: a slice, not first(), whose ORDER BY id costs a sort and a
    # fifth of the lookup.
    rows = list(tokens.filter(digest=found, expires_at__gt=now)[:1])
    return rows[0] if rows else None


def _shared_version() -> str | None:
    """None when the cache cannot be read: then every request queries."""
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, None)
            version = cache.get(VERSION_KEY)
    except Exception:  # the cache is down: the database still answers
        return None
    return version


def _copy(found: str, version: str) -> ApiToken | None:
    entry = _local.get(found)
    if entry is None or entry[0] != version or time.monotonic() - entry[1] > LOCAL_SECONDS:
        return None
    # A fresh copy for each request: a view that changes request.user changes only its own.
    return pickle.loads(entry[2])  # noqa: S301 - bytes this process pickled itself


def _keep(found: str, version: str, token: ApiToken) -> None:
    if len(_local) >= MAX_LOCAL:
        _local.clear()
    _local[found] = (version, time.monotonic(), pickle.dumps(token))


def forget(sender=None, created=False, **_kwargs) -> None:
    """A token or what it brings changed: drop this process's copies now, and every process's
    once the change is committed (a new version read before the commit could keep the old
    row; after it, the next request reads the new one). A new row is in no copy, except a
    contract: a copy may hold its organization without one."""
    if created and sender is not Contract:
        return
    _local.clear()
    db = transaction.get_connection()
    if db.in_atomic_block and any(entry[1] is _new_version for entry in db.run_on_commit):
        return  # once per transaction is enough
    transaction.on_commit(_new_version)


def _new_version() -> None:
    _local.clear()
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, None)
    except Exception:  # the cache is down: find() queries until it is back
        logger.warning("API token cache version not updated: the cache is unreachable")


for _model in (ApiToken, User, Organization, Contract, Plan):
    post_save.connect(forget, sender=_model, dispatch_uid=f"tokens.forget.save.{_model.__name__}")
    post_delete.connect(forget, sender=_model, dispatch_uid=f"tokens.forget.del.{_model.__name__}")


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def revoke_all(user) -> int:
    return ApiToken.objects.filter(user=user).delete()[0]
