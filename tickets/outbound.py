"""Outbound mail about tickets: recorded first, then sent after commit, threaded by Message-ID.

Used by acknowledgements, public-reply notices and escalation notices alike, so that the mail
intake can recognise replies (In-Reply-To / References) and never answers an automatic mail.
"""

import logging
import uuid
from email.utils import parseaddr
from functools import lru_cache, partial

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from .models import OutboundMessage

log = logging.getLogger(__name__)


def mail_domain() -> str:
    """The domain of the intake addresses and of every Message-ID the product makes."""
    return _domain(settings.SUPPORT_EMAIL_DOMAIN, settings.DEFAULT_FROM_EMAIL)


# Keyed on the settings' values, so an overridden setting is honoured; parseaddr per
# notification row was a tenth of the escalation sweep's time.
@lru_cache(maxsize=8)
def _domain(configured: str, from_email: str) -> str:
    if configured:
        return configured
    address = parseaddr(from_email)[1]
    return address.rpartition("@")[2] or "eservice.localhost"


def new_message_id(ticket=None) -> str:
    tag = ticket.reference if ticket is not None and ticket.pk else "eservice"
    return f"<{tag}.{uuid.uuid4().hex}@{mail_domain()}>"


def ticket_subject(ticket, text: str) -> str:
    """Every subject carries the reference in brackets, which the intake threads on."""
    return f"[{ticket.reference}] {text}"


def thread_headers(ticket) -> dict:
    """In-Reply-To/References to the first message the product sent about the ticket."""
    first = (
        OutboundMessage.objects.filter(ticket=ticket).order_by("created_at", "id").first()
        if ticket is not None
        else None
    )
    return {"In-Reply-To": first.message_id, "References": first.message_id} if first else {}


def send_ticket_mail(
    *,
    ticket,
    to,
    subject: str,
    body: str,
    kind: str,
    auto_submitted: str = "auto-generated",
    from_email: str | None = None,
    headers: dict | None = None,
) -> OutboundMessage | None:
    """Record the message now; send it once the surrounding transaction commits.

    auto_submitted: "auto-generated" (notices), "auto-replied" (acknowledgements), "" (a
    person's reply relayed by the product).
    """
    prepared = _prepare(
        ticket=ticket,
        to=to,
        subject=subject,
        body=body,
        kind=kind,
        auto_submitted=auto_submitted,
        from_email=from_email,
        headers=headers,
    )
    if prepared is None:
        return None
    message, email = prepared
    message.save()
    transaction.on_commit(lambda: _deliver(message.pk, email))
    return message


def send_ticket_mails(mails: list[dict]) -> list[OutboundMessage]:
    """Batch form of send_ticket_mail() (same keyword arguments per mail): one INSERT of all
    the rows now; after commit, each mail sent and one UPDATE of sent_at for those sent."""
    prepared = [p for kwargs in mails if (p := _prepare(**kwargs)) is not None]
    if not prepared:
        return []
    OutboundMessage.objects.bulk_create([message for message, _ in prepared])
    transaction.on_commit(partial(_deliver_many, [(m.pk, email) for m, email in prepared]))
    return [message for message, _ in prepared]


def _prepare(
    *,
    ticket,
    to,
    subject: str,
    body: str,
    kind: str,
    auto_submitted: str = "auto-generated",
    from_email: str | None = None,
    headers: dict | None = None,
) -> tuple[OutboundMessage, EmailMessage] | None:
    recipients = sorted({a.strip() for a in to if a and a.strip()})
    if not recipients:
        return None
    headers = headers or {}
    # A caller answering a given message threads to it; spare the lookup of our first mail.
    extra = {**(thread_headers(ticket) if "In-Reply-To" not in headers else {}), **headers}
    message = OutboundMessage(
        ticket=ticket,
        message_id=new_message_id(ticket),
        kind=kind,
        to=recipients,
        subject=subject[:300],
        body=body,
        auto_submitted=auto_submitted,
        in_reply_to=extra.get("In-Reply-To", ""),
    )
    extra["Message-ID"] = message.message_id
    if auto_submitted:
        extra["Auto-Submitted"] = auto_submitted
        extra["X-Auto-Response-Suppress"] = "All"
    email = EmailMessage(
        subject=message.subject,
        body=body,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers=extra,
    )
    return message, email


def _send(pk: int, email: EmailMessage) -> bool:
    try:
        email.send()
    except Exception as exc:  # noqa: BLE001 - a mail server fault must not undo the ticket
        log.warning("mail %s not sent: %s", pk, exc)
        OutboundMessage.objects.filter(pk=pk).update(error=str(exc)[:2000])
        return False
    return True


def _deliver(pk: int, email: EmailMessage) -> None:
    if _send(pk, email):
        OutboundMessage.objects.filter(pk=pk).update(sent_at=timezone.now())


def _deliver_many(items: list[tuple[int, EmailMessage]]) -> None:
    """Send over one connection to the mail server; record the sent ones in one UPDATE."""
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:  # noqa: BLE001 - each send below records its own failure
        log.warning("mail connection failed: %s", exc)
    try:
        sent = []
        for pk, email in items:
            email.connection = connection
            if _send(pk, email):
                sent.append(pk)
    finally:
        connection.close()
    if sent:
        OutboundMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now())
