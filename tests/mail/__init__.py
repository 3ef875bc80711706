"""Shared helpers for the mail intake tests: corpus loading and store-then-process."""

from pathlib import Path

from django.db import connection
from django.test import TestCase

from tickets.mail.pipeline import process
from tickets.mail.store import store

CORPUS = Path(__file__).parent


def eml(name: str, **replace) -> bytes:
    raw = (CORPUS / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return raw


def ingest(raw: bytes, to: str = "premier@eservice.example", mail_from=None):
    """store() then process(), running on-commit hooks (mail delivery) as a commit would."""
    if not connection.in_atomic_block:
        message, _ = store(raw, mail_from, [to] if to else [])
        return process(message.pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        message, _ = store(raw, mail_from, [to] if to else [])
        message = process(message.pk)
    return message


def auto_replies() -> list:
    """The automatic replies the intake's senders received: acknowledgements (sent from the
    notifications outbox, delivered here as the worker would) and quarantine replies (sent
    directly). Staff notices of the same tickets are left out."""
    from django.core import mail

    from notifications.delivery import deliver_due

    deliver_due()
    return [m for m in mail.outbox if m.extra_headers.get("Auto-Submitted") == "auto-replied"]
