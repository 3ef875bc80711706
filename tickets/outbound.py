"""Outbound mail about tickets: recorded first, then sent after commit, threaded by Message-ID.

Used by acknowledgements, public-reply notices and escalation notices alike, so that the mail
intake can recognise replies (In-Reply-To / References) and never answers an automatic mail.
"""

import logging
import uuid
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import OutboundMessage

log = logging.getLogger(__name__)


def mail_domain() -> str:
    """The domain of the intake addresses and of every Message-ID the product makes."""
    if settings.SUPPORT_EMAIL_DOMAIN:
        return settings.SUPPORT_EMAIL_DOMAIN
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
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
    recipients = sorted({a.strip() for a in to if a and a.strip()})
    if not recipients:
        return None
    headers = headers or {}
    # A caller answering a given message threads to it; spare the lookup of our first mail.
    extra = {**(thread_headers(ticket) if "In-Reply-To" not in headers else {}), **headers}
    message = OutboundMessage.objects.create(
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
    transaction.on_commit(lambda: _deliver(message.pk, email))
    return message


def _deliver(pk: int, email: EmailMessage) -> None:
    try:
        email.send()
    except Exception as exc:  # noqa: BLE001 - a mail server fault must not undo the ticket
        log.warning("mail %s not sent: %s", pk, exc)
        OutboundMessage.objects.filter(pk=pk).update(error=str(exc)[:2000])
        return
    OutboundMessage.objects.filter(pk=pk).update(sent_at=timezone.now())
