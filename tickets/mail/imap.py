"""IMAP poller (beat job mail.poll_imap): unseen messages → store → process → "Processed".

Each message is stored as it is fetched (only one message's bytes in memory at a time); the
stored ones are then processed together with process_many() and moved. A message that cannot
be stored stays unseen in the inbox for the next run; the poller goes on with the next one.
Configured by IMAP_URL, e.g. imap://user:pass@host:993/INBOX (imaps:// for TLS; imap:// with
port 993 also means TLS).
"""

import logging
import os
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted

from .pipeline import process_many
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
    with box.login(user, password, initial_folder=folder) as mailbox:
        if not mailbox.folder.exists(PROCESSED_FOLDER):
            mailbox.folder.create(PROCESSED_FOLDER)
        uids = mailbox.uids(AND(seen=False))[:limit]
        taken = [(uid, pk) for uid in uids if (pk := _store(mailbox, uid, user)) is not None]
        process_many([pk for _, pk in taken])
        for uid, _ in taken:
            _move(mailbox, uid)
    return len(taken)


def _raw(mailbox, uid: str) -> bytes | None:
    # The exact bytes (BODY.PEEK leaves the message unseen until it is stored).
    status, data = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    return next((part[1] for part in data if isinstance(part, tuple)), None)


def _store(mailbox, uid: str, user: str) -> int | None:
    """The stored message's pk, or None when it stays in the inbox for the next run."""
    try:
        raw = _raw(mailbox, uid)
        if raw is None:
            return None
        message, _ = store(raw, None, [user] if "@" in user else [])
    except Exception:  # noqa: BLE001 - leave it in the inbox for the next run
        log.exception("imap uid %s not stored; left in the inbox", uid)
        return None
    return message.pk


def _move(mailbox, uid: str) -> None:
    try:
        mailbox.move(uid, PROCESSED_FOLDER)
    except Exception:  # noqa: BLE001 - stored already; a second run finds the duplicate key
        log.exception("imap uid %s stored but not moved", uid)
