"""What a receiver gets: the frozen payload, the exact body bytes and the signed headers."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse

from sla.availability.api import CreditSerializer
from tickets.api.serializers import TicketSerializer

USER_AGENT = "eService-Webhooks/1.0"


def _iso(value):
    return value.astimezone(datetime.UTC).isoformat() if value else None


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def jsonable(value):
    """A value as JSON carries it: times with their offset, rows by primary key."""
    if isinstance(value, datetime.datetime):
        return _iso(value)
    if isinstance(value, datetime.date | datetime.timedelta | Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def ticket_data(ticket) -> dict:
    """The API's ticket representation (tickets.api), with absolute links for receivers."""
    data = TicketSerializer(context={}).to_representation(ticket)
    data["url"] = _absolute(data["url"])
    data["portal_url"] = _absolute(reverse("tickets:detail", args=[ticket.reference]))
    return data


def comment_data(comment) -> dict:
    if comment.internal:
        # The one rule that must never bend: an internal note does not leave by webhook.
        raise ValueError("internal notes never leave by webhook")
    author = comment.author
    return {
        "id": comment.pk,
        "body": comment.body,
        "author": author.username if author else None,
        "author_role": author.role if author else None,
        "created_at": _iso(comment.created_at),
        "attachments": [
            {"filename": a.filename, "size": a.size, "content_type": a.content_type}
            for a in comment.attachments.all()
            if not a.internal
        ],
    }


def credit_data(credit) -> dict:
    return jsonable(dict(CreditSerializer(credit).data))


def build(event: str, at, *, ticket=None, comment=None, credit=None, changes=None) -> dict:
    """The payload stored with each delivery, without its id: {event, created_at, data}."""
    data = {}
    if comment is not None:
        data["comment"] = comment_data(comment)
    if ticket is not None:
        data["ticket"] = ticket_data(ticket)
    if credit is not None:
        data["credit"] = credit_data(credit)
    if changes:
        data["changes"] = {
            name: {"old": jsonable(old), "new": jsonable(new)}
            for name, (old, new) in changes.items()
        }
    return {"event": event, "created_at": _iso(at), "data": data}


def body(delivery_id, payload: dict, fmt: str) -> bytes:
    """The raw bytes posted (and signed). Built the same way on every retry."""
    if fmt == "slack":
        document = {"text": slack_text(payload)}
    else:
        # Keys in a fixed order: a stored payload may come back with its keys reordered.
        document = {
            "id": str(delivery_id),
            "event": payload["event"],
            "created_at": payload["created_at"],
            "data": payload["data"],
        }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def headers(delivery_id, event: str, secret: str, raw: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-EService-Event": event,
        "X-EService-Delivery": str(delivery_id),
        "X-EService-Signature": signature(secret, raw),
    }


def slack_escape(text: str) -> str:
    """Slack's three control characters (its mrkdwn link and mention syntax)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(payload: dict) -> str:
    """One line: the event, a link on the reference, the subject, priority and status."""
    data = payload.get("data", {})
    ticket = data.get("ticket")
    event = payload["event"]
    if ticket is None:
        credit = data.get("credit") or {}
        return f"{event}: credit {credit.get('id')} ({credit.get('days')} day(s))"
    subject = " ".join(slack_escape(ticket["subject"]).split())
    link = f"<{ticket['portal_url']}|{ticket['reference']}>"
    return f"{event}: {link} {subject} ({ticket['priority']}, {ticket['status']})"
