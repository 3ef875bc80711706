"""Sign-in and password-reset throttling in the shared cache (spec 8).

Every door that checks a password (the API token endpoint, the portal and admin sign-in forms)
calls check_sign_in() before it and counts a failure through Django's user_login_failed signal
(receivers below), so the limits hold across doors and across processes. Counters are kept per
account and per client address; client_address() believes X-Forwarded-For only from a peer in
TRUSTED_PROXIES.
"""

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from core import ratelimit
from core.ratelimit import client_address


class Throttled(Exception):
    """Too many attempts; retry_after: seconds until the window ends."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


def _check(limits: list[tuple[str, int]]) -> None:
    window = settings.SIGNIN_WINDOW_SECONDS
    for name, limit in limits:
        left = ratelimit.wait_seconds(name, limit, window)
        if left:
            raise Throttled(left)


def _add(name: str) -> None:
    ratelimit.hit(name, settings.SIGNIN_WINDOW_SECONDS)


def _sign_in_keys(request, username: str) -> list[tuple[str, int]]:
    keys = [
        (ratelimit.key("signin-ip", client_address(request)), settings.SIGNIN_FAILURES_PER_ADDRESS)
    ]
    if username:
        keys.append((ratelimit.key("signin-user", username), settings.SIGNIN_FAILURES_PER_ACCOUNT))
    return keys


def check_sign_in(request, username: str) -> None:
    """Raise Throttled when this account or this client address failed too often."""
    _check(_sign_in_keys(request, username or ""))


def record_failure(request, username: str) -> None:
    for key, _limit in _sign_in_keys(request, username or ""):
        _add(key)


@receiver(user_login_failed, dispatch_uid="accounts.throttle.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    if request is not None:
        record_failure(request, credentials.get("username", ""))


def check_password_reset(request, email: str) -> None:
    """Count a password-reset request; raise Throttled over the limits (mail floods)."""
    keys = [
        (ratelimit.key("reset-ip", client_address(request)), settings.PASSWORD_RESETS_PER_ADDRESS),
        (ratelimit.key("reset-mail", email or ""), settings.PASSWORD_RESETS_PER_ACCOUNT),
    ]
    _check(keys)
    for key, _limit in keys:
        _add(key)
