"""The mail intake as it was before its batch path was made faster, for bench_email_intake's
named baseline "pre-change batch path", measured in the same run as the current code.

What it puts back: the feed parser for every message (and its headers read from the whole
message at store()), the sender flood limit checked and counted with its own cache calls per
message, each system note written on its own, and the inbound webhook parsing with
anymail's parser and storing the message written out again (as_bytes()).

    with swapped(): ...                            # in this process
    python mail_previous.py manage lmtp_server ...  # a manage.py command with it applied
    celery -A mail_previous worker ...             # a worker whose processes apply it
    gunicorn 'mail_previous:wsgi_application()'   # the web site with it applied
"""

import contextlib
import email
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def previous_sender_over_limit(intake) -> bool:
    """tickets.limits.mail_sender_over_limit() as it was: a read, a mark and a hit per message."""
    from django.conf import settings
    from django.core.cache import cache

    from core import ratelimit
    from tickets.limits import WINDOW

    name = ratelimit.key("tickets-mail", intake.address)
    if ratelimit.wait_seconds(name, settings.TICKETS_PER_SENDER_PER_HOUR, WINDOW):
        return True
    if cache.add(f"ratelimit:tickets-mail-counted:{intake.message.pk}", 1, WINDOW):
        ratelimit.hit(name, WINDOW)
    return False


def previous_system_note(ticket, text: str) -> None:
    from tickets import services
    from tickets.models import Channel

    services.add_system_note(ticket, text, channel=Channel.EMAIL)


def previous_warned_in_batch(batch, ticket, phase: str) -> bool:
    from escalation.receivers import _warned

    return _warned(ticket, phase)


def previous_store_each(items, *, received_at=None):
    """ingest_email's files stored as it stored them: store() one at a time."""
    from tickets.mail.store import store

    return [store(raw, frm, rcpt, received_at=received_at)[0] for raw, frm, rcpt in items]


def _anymail_parse(cls, raw: bytes):
    from email.parser import BytesParser
    from email.policy import default as default_policy

    return BytesParser(cls, policy=default_policy).parsebytes(raw)


def _replacements() -> list[tuple[object, str, object]]:
    from aiosmtpd.smtp import SMTP
    from anymail.inbound import AnymailInboundMessage

    from escalation import receivers
    from tickets.mail import actions, lmtp, parse, routing, store, webhooks

    return [
        (parse, "parse", email.message_from_bytes),
        (parse, "head", lambda raw: raw),
        (routing, "_sender_over_limit", previous_sender_over_limit),
        (actions, "_system_note", previous_system_note),
        (webhooks, "raw_bytes", lambda message: message.as_bytes()),
        (AnymailInboundMessage, "parse_raw_mime_bytes", classmethod(_anymail_parse)),
        (lmtp.IntakeLMTP, "smtp_DATA", SMTP.smtp_DATA),
        (receivers, "_warned_in_batch", previous_warned_in_batch),
        (store, "store_each", previous_store_each),
    ]


def apply() -> None:
    for owner, name, value in _replacements():
        setattr(owner, name, value)


@contextlib.contextmanager
def swapped():
    """The previous code in this process while the block runs."""
    replacements = _replacements()
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in replacements]
    apply()
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def wsgi_application():
    from portal.wsgi import application

    apply()
    return application


def _celery_app():
    from celery.signals import worker_process_init

    from portal.celery import app as celery_app

    worker_process_init.connect(lambda **kwargs: apply(), weak=False)
    return celery_app


if __name__ == "__main__" and sys.argv[1:2] == ["manage"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    apply()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[2:]])
elif __name__ != "__main__":
    app = _celery_app()  # celery -A mail_previous
