"""MTA pipe / file import: store each message, then process it (several files: as one batch).

Exit 0 once every message is stored (even if processing failed: it stays stored, visible in
the admin and re-processable); 75 (EX_TEMPFAIL) when one could not be stored, so the MTA
retries.
"""

import logging
import sys

from django.core.management.base import BaseCommand

log = logging.getLogger("tickets.mail")
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Store and process RFC 5322 messages from files, or from stdin (an MTA pipe)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="message files; stdin when none")
        parser.add_argument("--to", dest="to", default="", help="envelope recipient")
        parser.add_argument("--from", dest="mail_from", default=None, help="envelope sender")

    def handle(self, *args, files, to, mail_from, **options):
        from tickets.mail.pipeline import process, process_many
        from tickets.mail.store import store

        sources = files or ["-"]
        stored = []
        for source in sources:
            try:
                raw = sys.stdin.buffer.read() if source == "-" else _read(source)
                message, created = store(raw, mail_from, [to] if to else [])
            except Exception as exc:  # noqa: BLE001 - the MTA must retry
                log.error("ingest_email: could not store %s: %s", source, exc)
                self.stderr.write(f"could not store {source}: {exc}")
                sys.exit(EX_TEMPFAIL)
            stored.append(message.pk)
        # Several files: one transaction per batch (process_many), not one per message.
        processed = process_many(stored) if len(stored) > 1 else [process(stored[0])]
        for message in processed:
            self.stdout.write(f"{message.key} {message.status}")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
