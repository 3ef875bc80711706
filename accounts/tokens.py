"""API tokens: issued by the token endpoint, stored hashed, expiring, revocable (spec 8)."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.utils import timezone

from .models import ApiToken


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
    """The live token for a key, with its user's organization, contract and plan (one query:
    every client request reads them, for tenancy and the SLA engine)."""
    tokens = ApiToken.objects.select_related("user__organization__contract__plan")
    # The digest is unique: a slice, not first(), whose ORDER BY id costs a sort and a
    # fifth of the lookup.
    found = list(tokens.filter(digest=digest(key), expires_at__gt=timezone.now())[:1])
    return found[0] if found else None


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).delete()


def revoke_all(user) -> int:
    return ApiToken.objects.filter(user=user).delete()[0]
