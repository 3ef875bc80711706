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

        rcpt_tos = [to] if to else []
        items, unread = [], None
        for source in files or ["-"]:
            try:
                raw = sys.stdin.buffer.read() if source == "-" else _read(source)
            except Exception as exc:  # noqa: BLE001 - the MTA must retry
                unread = (source, exc)
                break
            items.append((raw, mail_from, rcpt_tos))
        # The files read before one that could not be are stored all the same.
        stored = self._store(items, files or ["-"]) if items else []
        if unread:
            self._cannot_store(*unread)
        # Several files: one transaction per batch (process_many), not one per message.
        processed = process_many(stored) if len(stored) > 1 else [process(stored[0])]
        for message in processed:
            self.stdout.write(f"{message.key} {message.status}")

    def _store(self, items: list, sources: list) -> list[int]:
        """The items' pks once each is stored; several in one INSERT and one commit (store_each),
        else, or if that fails, one at a time (store): the first that cannot be is the exit."""
        from tickets.mail.store import store, store_each

        if len(items) > 1:
            try:
                return [message.pk for message in store_each(items)]
            except Exception:  # noqa: BLE001 - each message is tried alone below
                log.exception("ingest_email: storing %d messages at once failed", len(items))
        stored = []
        for source, (raw, frm, rcpt_tos) in zip(sources, items, strict=False):
            try:
                stored.append(store(raw, frm, rcpt_tos)[0].pk)
            except Exception as exc:  # noqa: BLE001 - the MTA must retry
                self._cannot_store(source, exc)
        return stored

    def _cannot_store(self, source: str, exc: Exception) -> None:
        log.error("ingest_email: could not store %s: %s", source, exc)
        self.stderr.write(f"could not store {source}: {exc}")
        sys.exit(EX_TEMPFAIL)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
