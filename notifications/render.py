"""One notification row → one multipart mail, from templates/mail/<kind>.txt and .html,
rendered in the recipient's language, with every header in one place (threading, Reply-To,
RFC 8058 one-click unsubscribe, Auto-Submitted)."""

import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import GENERAL_INTAKE
from sla.calendars import REGIONS
from tickets.mail.reply_tokens import reply_address
from tickets.models import OutboundMessage, format_reference
from tickets.outbound import mail_domain

from .models import Category, Notification, Status
from .unsubscribe import make_token


def first_mails(rows) -> dict:
    """(ticket id, address) → (id, Message-ID) of the first mail that address got about the
    ticket: the intake's acknowledgement, else the first notification (two queries)."""
    tickets = {r.ticket_id for r in rows if r.ticket_id}
    emails = {r.email for r in rows}
    if not tickets:
        return {}
    qs = (
        Notification.objects.filter(ticket_id__in=tickets, email__in=emails)
        .exclude(status=Status.SKIPPED)
        .values_list("ticket_id", "email", "id", "message_id")
    )
    if connection.vendor == "postgresql":
        qs = qs.order_by("ticket_id", "email", "id").distinct("ticket_id", "email")
    else:
        qs = qs.order_by("-id")  # the last written wins below: the first one
    found = {(t, e.lower()): (pk, mid) for t, e, pk, mid in qs}
    acks = OutboundMessage.objects.filter(ticket_id__in=tickets, kind="ack")
    for ticket_id, to, message_id in acks.values_list("ticket_id", "to", "message_id"):
        for address in to:
            found[ticket_id, address.lower()] = (0, message_id)
    return found


def local_time(value: str, region: str | None) -> str:
    """An ISO time as the region reads it: 2026-03-03 11:00 GMT (Europe/London)."""
    if not value:
        return ""
    zone = REGIONS[region][0] if region in REGIONS else "UTC"
    local = datetime.datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone})"


def _due(ticket, region) -> dict:
    """The ticket's current deadlines in the region's local time (staff notices)."""
    if ticket is None:
        return {}
    return {
        "response": local_time(_iso(ticket.response_due_at), region),
        "resolution": local_time(_iso(ticket.resolution_due_at), region),
    }


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _is_staff_mail(n: Notification) -> bool:
    return n.recipient is None or n.recipient.is_staff


def _link(n: Notification) -> str:
    site = settings.SITE_URL.rstrip("/")
    if n.kind == "oncall_digest":
        query = f"?organization__id__exact={n.data.get('organization_id', '')}"
        return f"{site}/admin/tickets/ticket/{query}"
    if n.ticket_id is None and _is_staff_mail(n):
        return f"{site}/admin/availability/servicecredit/{n.credit_id}/change/"
    if n.ticket_id is None:
        return site + reverse("availability:credits")
    if _is_staff_mail(n):
        return f"{site}/admin/tickets/ticket/{n.ticket_id}/change/"
    return f"{site}/tickets/{format_reference(n.ticket_id)}/"


def _intake_local_part(ticket) -> str:
    contract = getattr(ticket.organization, "contract", None) if ticket else None
    return contract.plan.intake_local_part if contract else GENERAL_INTAKE


def reply_to(n: Notification) -> str:
    """The plan's intake address; for a member of staff, the signed per-recipient address
    (tickets.mail.reply_tokens) without which the intake does not take a staff reply."""
    local, domain = _intake_local_part(n.ticket), mail_domain()
    if n.recipient is not None and n.recipient.is_staff and n.ticket_id:
        return reply_address(local, domain, user_id=n.recipient.pk, ticket_id=n.ticket_id)
    return f"{local}@{domain}"


def unsubscribe_url(n: Notification) -> str:
    path = reverse("notifications:unsubscribe", args=[make_token(n.email, n.category)])
    return settings.SITE_URL.rstrip("/") + path


def _staff_prefix(n: Notification) -> str:
    """What a staff notice is about, before the ticket's subject (on-call pages stand out)."""
    if n.kind == "escalation":
        return _("Escalation level %(level)s") % {"level": n.data.get("level", "")} + ": "
    if n.kind == "warning":
        return _("SLA warning") + ": "
    if n.kind == "oncall":
        return _("P0 outside business hours") + ": "
    return ""


def _subject(n: Notification, earlier: bool) -> str:
    if n.kind == "oncall_digest":
        return _("[P0 digest] %(organization)s: %(count)s more P0 tickets") % n.data
    ticket = n.ticket
    if ticket is None:
        return _("Service credit: %(days)s day(s)") % {"days": n.data.get("days", "")}
    subject = f"[{ticket.reference}] {_staff_prefix(n)}{ticket.subject}"
    return f"Re: {subject}" if earlier else subject


def context(n: Notification) -> dict:
    ticket = n.ticket
    region = None
    if ticket is not None:
        contract = getattr(ticket.organization, "contract", None)
        region = contract.region if contract else None
    comment = n.comment
    attachments = []
    if comment is not None and not comment.internal:
        attachments = [a.filename for a in comment.attachments.all() if not a.internal]
    return {
        "n": n,
        "ticket": ticket,
        "comment": comment,
        "attachments": attachments,
        "data": n.data,
        "credit": n.credit,
        "link": _link(n),
        "response_due": local_time(n.data.get("response_due_at", ""), region),
        "due": _due(ticket, region),
        "staff_mail": _is_staff_mail(n),
        "category_label": Category(n.category).label,
        "unsubscribe_url": unsubscribe_url(n),
    }


def build(n: Notification, first: tuple | None) -> EmailMultiAlternatives:
    """The mail for one row; first: (id, Message-ID) of this address's first mail about the
    ticket, threaded to when it came before this one."""
    earlier = first is not None and first[0] < n.pk
    headers = {
        "Message-ID": n.message_id,
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    with translation.override(n.language or "en"):
        ctx = context(n)
        headers["List-Unsubscribe"] = f"<{ctx['unsubscribe_url']}>"
        if first is not None and earlier:
            headers["In-Reply-To"] = headers["References"] = first[1]
        elif n.data.get("thread"):
            # The mail intake's acknowledgement answers the client's own message.
            headers.update(n.data["thread"])
            headers["Auto-Submitted"] = "auto-replied"
        text = render_to_string(f"mail/{n.kind}.txt", ctx)
        html = render_to_string(f"mail/{n.kind}.html", ctx)
        subject = _subject(n, earlier)
    mail = EmailMultiAlternatives(
        subject=subject[:300],
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[n.email],
        reply_to=[reply_to(n)],
        headers=headers,
    )
    mail.attach_alternative(html, "text/html")
    return mail
