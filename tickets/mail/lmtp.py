"""LMTP listener (aiosmtpd): the MTA hands over each message; we store it, then queue it
(tickets.mail.intake: a worker drains the stored messages in batches).

An MTA (Postfix `mailbox_transport = lmtp:inet:127.0.0.1:8024`) retries on a 4xx reply, so a
message is acknowledged with 250 only once it is stored. Too large → 552 during DATA.
"""

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import MISSING
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from . import lmtp_data
from .intake import accept, accept_group, doorbell

log = logging.getLogger("tickets.mail")


def max_message_bytes() -> int:
    return int(getattr(settings, "EMAIL_MAX_MESSAGE_BYTES", 25 * 1024 * 1024))


def _accept(raw: bytes, mail_from: str, rcpt_tos: list, inline: bool) -> str:
    close_old_connections()
    try:
        message = accept(raw, mail_from, rcpt_tos, inline=inline)
        log.info("lmtp stored key=%s status=%s", message.key, message.status)
        return message.key
    finally:
        close_old_connections()


def _accept_group(items: list) -> list:
    close_old_connections()
    try:
        return accept_group(items)
    finally:
        close_old_connections()


class GroupCommit:
    """The messages that arrive while a group is being stored make the next group: one
    transaction and one commit for them all. An MTA delivering over many connections at once
    gets its replies at the pace of the database's commits of groups, not of messages; a
    lone message is stored at once, as before."""

    MAX = 100

    def __init__(self):
        self.waiting, self.writer = [], None

    async def store(self, item) -> None:
        """Returns once the message is committed; raises what kept it from being stored."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.writer is None:
            self.writer = asyncio.create_task(self._write())
        await future

    async def _write(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[: self.MAX], self.waiting[self.MAX :]
                items = [item for item, _ in group]
                try:
                    errors = await sync_to_async(_accept_group, thread_sensitive=False)(items)
                except Exception as exc:  # noqa: BLE001 - each sender is refused (451)
                    errors = [exc] * len(group)
                for (_, future), error in zip(group, errors, strict=True):
                    if error is None:
                        future.set_result(None)
                    else:
                        future.set_exception(error)
        finally:
            self.writer = None


class IntakeHandler:
    def __init__(self, *, inline: bool = False):
        self.inline = inline
        self.group = GroupCommit()

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        item = (raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        try:
            if self.inline:
                await sync_to_async(_accept, thread_sensitive=False)(*item, True)
            else:
                await self.group.store(item)
        except Exception:  # noqa: BLE001 - 451: the MTA keeps it and retries
            log.exception("lmtp: could not store a message from %s", envelope.mail_from)
            return "\r\n".join(
                "451 4.3.0 Could not store the message, try again later" for _ in envelope.rcpt_tos
            )
        # LMTP answers once per accepted recipient (RFC 2033).
        return "\r\n".join("250 2.0.0 OK" for _ in envelope.rcpt_tos)


class IntakeLMTP(LMTP):
    """aiosmtpd's LMTP with an RFC 3463 size refusal, one reply per recipient (RFC 2033), and
    DATA read in chunks (lmtp_data) rather than line by line."""

    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA (the same checks and replies, in the same order) with the message
        read by lmtp_data.read_data(); decoded data is left to aiosmtpd's own."""
        if self._decode_data or not hasattr(self._reader, lmtp_data.LIMIT_ATTRIBUTE):
            return await super().smtp_DATA(arg)
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            return await self.push("503 Error: need RCPT command")
        if arg:
            return await self.push("501 Syntax: DATA")
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        limits = (self.data_size_limit, self.line_length_limit)
        try:
            content, refused = await lmtp_data.read_data(self._reader, *limits)
        except asyncio.CancelledError:
            log.info("lmtp: connection lost during DATA")
            self._writer.close()
            raise
        if refused:
            await self.push(refused)  # push() counts the envelope's recipients: reset after
            return self._set_post_data_state()
        self.envelope.content = self.envelope.original_content = content
        status = MISSING
        if "DATA" in self._handle_hooks:
            status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    # aiosmtpd declares push(status: AnyStr), but it and this class only ever push str.
    async def push(self, status: str) -> None:  # type: ignore[override]
        if status.startswith("552 Error: Too much mail data"):
            count = len(getattr(self.envelope, "rcpt_tos", None) or [None])
            log.warning("lmtp: refused a message over %s bytes", self.data_size_limit)
            for _ in range(count):
                await super().push("552 5.3.4 Message too big")
            return
        await super().push(status)


class LMTPController(Controller):
    def factory(self):
        return IntakeLMTP(
            self.handler,
            data_size_limit=max_message_bytes(),
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="eService LMTP",
        )


def controller(host: str = "127.0.0.1", port: int = 8024, *, inline: bool = False):
    return LMTPController(IntakeHandler(inline=inline), hostname=host, port=port)


def serve(host: str, port: int, *, inline: bool = False) -> None:
    # aiosmtpd logs every connection at INFO; keep our one line per message readable.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    ctl = controller(host, port, inline=inline)
    ctl.start()
    log.info("LMTP listening on %s:%s (max %s bytes)", host, port, max_message_bytes())
    try:
        asyncio.run(_forever())
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()
        doorbell.flush()


async def _forever():
    while True:
        await asyncio.sleep(3600)
