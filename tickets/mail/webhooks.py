"""Inbound webhooks of email services (django-anymail): the message is stored, then queued
for the workers (tickets.mail.intake), and the service gets its 2xx once it is stored.

Mounted by tickets/mail/urls.py at /mail/anymail/<esp>/inbound/. Anymail's own views accept
unauthenticated posts when no secret is set and answer 500 to junk; inbound_webhook() in front
of them makes the rules of spec 8 hold: no secret configured (or an email service not enabled)
→ 404, a post without the secret → 401, a body the service's parser cannot read → 400.
"""

import logging
from email.parser import Parser
from email.policy import default as default_policy

from anymail import urls as anymail_urls
from anymail.inbound import AnymailInboundMessage
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

from . import parse
from .intake import accept

log = logging.getLogger("tickets.mail")


@receiver(inbound, dispatch_uid="tickets.mail.inbound")
def handle_inbound(sender, event, esp_name, **kwargs):
    message = event.message
    envelope_to = [message.envelope_recipient] if message.envelope_recipient else []
    stored = accept(raw_bytes(message), message.envelope_sender or "", envelope_to)
    log.info("webhook %s key=%s status=%s", esp_name, stored.key, stored.status)


def raw_bytes(message) -> bytes:
    """The bytes the service sent, when anymail parsed them and added no header since (e.g.
    Postmark's Bcc); else the message written out again (as_bytes(): 15 ms for a 200 KB
    attachment, the webhook's largest cost after parsing)."""
    raw, count = getattr(message, "eservice_raw", (None, 0))
    if raw is not None and len(message) == count:
        return raw
    return message.as_bytes()


def _parse_raw_mime_bytes(cls, raw: bytes):
    """AnymailInboundMessage.parse_raw_mime_bytes() (which parse_raw_mime() calls), the
    same message through parse.parse_quickly(), with the bytes kept for raw_bytes()."""
    parser = Parser(cls, policy=default_policy)
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser decodes
    try:
        message = parse.parse_quickly(text, parser=parser)
    except Exception:  # noqa: BLE001 - the standard parser decides
        message = None
    if message is None:
        message = parser.parsestr(text)
    message.eservice_raw = (raw, len(message))
    return message


# Every anymail inbound view parses through this class method; it is replaced once, here,
# where the receiver that stores the messages is registered.
AnymailInboundMessage.parse_raw_mime_bytes = classmethod(_parse_raw_mime_bytes)


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
