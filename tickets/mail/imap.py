"""IMAP poller (beat job mail.poll_imap): unseen messages → store → process → "Processed".

A message that cannot be stored stays unseen in the inbox for the next run; the poller goes on
with the next one. Configured by IMAP_URL, e.g. imap://user:pass@host:993/INBOX (imaps:// for
TLS; imap:// with port 993 also means TLS).
"""

import logging
import os
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted

from .pipeline import process
from .store import store

log = logging.getLogger("tickets.mail")
PROCESSED_FOLDER = "Processed"


def imap_url() -> str:
    return getattr(settings, "IMAP_URL", "") or os.environ.get("IMAP_URL", "")


def _mailbox(url: str):
    parts = urlsplit(url)
    tls = parts.scheme == "imaps" or parts.port == 993
    port = parts.port or (993 if tls else 143)
    box_class = MailBox if tls else MailBoxUnencrypted
    box = box_class(parts.hostname or "127.0.0.1", port=port)
    folder = unquote(parts.path.strip("/")) or "INBOX"
    return box, unquote(parts.username or ""), unquote(parts.password or ""), folder


def poll(url: str, *, limit: int = 500) -> int:
    """Returns the number of messages stored this run."""
    box, user, password, folder = _mailbox(url)
    stored = 0
    with box.login(user, password, initial_folder=folder) as mailbox:
        if not mailbox.folder.exists(PROCESSED_FOLDER):
            mailbox.folder.create(PROCESSED_FOLDER)
        uids = mailbox.uids(AND(seen=False))[:limit]
        for uid in uids:
            stored += _take(mailbox, uid, user)
    return stored


def _raw(mailbox, uid: str) -> bytes | None:
    # The exact bytes (BODY.PEEK leaves the message unseen until it is stored).
    status, data = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    return next((part[1] for part in data if isinstance(part, tuple)), None)


def _take(mailbox, uid: str, user: str) -> int:
    try:
        raw = _raw(mailbox, uid)
        if raw is None:
            return 0
        message, _ = store(raw, None, [user] if "@" in user else [])
    except Exception:  # noqa: BLE001 - leave it in the inbox for the next run
        log.exception("imap uid %s not stored; left in the inbox", uid)
        return 0
    process(message.pk)
    try:
        mailbox.move(uid, PROCESSED_FOLDER)
    except Exception:  # noqa: BLE001 - stored already; a second run finds the duplicate key
        log.exception("imap uid %s stored but not moved", uid)
    return 1
