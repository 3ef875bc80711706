"""Inbound webhooks of email services (django-anymail): the message is stored, then queued
for the workers (tickets.mail.intake), and the service gets its 2xx once it is stored.

Mounted by tickets/mail/urls.py at /mail/anymail/<esp>/inbound/. Anymail's own views accept
unauthenticated posts when no secret is set and answer 500 to junk; inbound_webhook() in front
of them makes the rules of spec 8 hold: no secret configured (or an email service not enabled)
→ 404, a post without the secret → 401, a body the service's parser cannot read → 400.
"""

import logging

from anymail import urls as anymail_urls
from anymail.signals import inbound
from anymail.utils import get_request_basic_auth
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import receiver
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import Resolver404
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .intake import accept

log = logging.getLogger("tickets.mail")


@receiver(inbound, dispatch_uid="tickets.mail.inbound")
def handle_inbound(sender, event, esp_name, **kwargs):
    message = event.message
    envelope_to = [message.envelope_recipient] if message.envelope_recipient else []
    stored = accept(message.as_bytes(), message.envelope_sender or "", envelope_to)
    log.info("webhook %s key=%s status=%s", esp_name, stored.key, stored.status)


def _secrets() -> list[str]:
    secret = getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET") or []
    return [secret] if isinstance(secret, str) else list(secret)


def _inbound_view_class(esp: str, kind: str):
    """Anymail's inbound view for this service, or None (unknown, tracking, not enabled)."""
    enabled = getattr(settings, "MAIL_INBOUND_ESPS", [])
    if enabled and esp not in enabled:
        return None
    for pattern in anymail_urls.urlpatterns:
        try:
            match = pattern.resolve(f"{esp}/{kind}/")
        except Resolver404:
            continue
        if match and match.url_name and match.url_name.endswith("_inbound_webhook"):
            return match.func.view_class
    return None


def _authorized(request, secrets: list[str]) -> bool:
    given = get_request_basic_auth(request) or ""
    return any(constant_time_compare(given, secret) for secret in secrets)


@csrf_exempt
@require_POST
def inbound_webhook(request, esp: str, kind: str):
    secrets = _secrets()
    view_class = _inbound_view_class(esp, kind) if secrets else None
    if view_class is None:
        raise Http404("No such inbound email service.")
    if not _authorized(request, secrets):
        response = HttpResponse("Unauthorized", status=401)
        response["WWW-Authenticate"] = 'Basic realm="inbound mail"'
        return response
    try:
        view = view_class()
    except ImproperlyConfigured:  # e.g. Mailgun without its signing key: not set up here
        raise Http404("Inbound email service not configured.") from None
    view.setup(request, esp=esp, kind=kind)
    try:
        view.run_validators(request)
        events = view.parse_events(request)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad request, not a 500
        log.warning("webhook %s: unreadable post (%s)", esp, type(exc).__name__)
        return JsonResponse({"detail": f"Unreadable {esp} inbound post."}, status=400)
    for event in events:
        # A store error propagates: the service retries a 5xx later.
        view.signal.send(sender=view_class, event=event, esp_name=view.esp_name)
    return HttpResponse()
