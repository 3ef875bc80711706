"""The LMTP listener's DATA, read in chunks (tickets.mail.lmtp_data): the reader on its own
with every split of the stream, then the real listener with smtplib and a raw socket."""

import asyncio
import base64
import smtplib
import socket

import pytest

from tests.mail import eml
from tests.test_mail_transports import free_port
from tickets.mail import intake, lmtp_data
from tickets.mail.lmtp import controller
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.models import Ticket

LINE_LIMIT = 1001  # aiosmtpd's line_length_limit, CRLF included


def read(stream: bytes, *, splits=(), size_limit=None, line_limit=LINE_LIMIT):
    """read_data() on a reader fed `stream` cut at `splits` → (message, refusal, left over)."""

    async def go():
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        result = asyncio.ensure_future(lmtp_data.read_data(reader, size_limit, line_limit))
        start = 0
        for cut in [*splits, len(stream)]:
            reader.feed_data(stream[start:cut])
            start = cut
            await asyncio.sleep(0)
        reader.feed_eof()
        message, refused = await result
        return message, refused, await reader.read(), getattr(reader, lmtp_data.LIMIT_ATTRIBUTE)

    message, refused, rest, limit = asyncio.run(go())
    assert limit == LINE_LIMIT  # the reader's own limit is back
    return message, refused, rest


STUFFED = (
    b"Subject: dots\r\n\r\n"
    b"..leading dot\r\n"
    b"...two dots\r\n"
    b"bare\n.not a terminator\n.\r\n"  # bare LFs: data, not line ends
    b".\rlone CR after a dot\r\n"
    b"\r\n"
    b"last\r\n"
)
MESSAGE = (
    b"Subject: dots\r\n\r\n"
    b".leading dot\r\n"
    b"..two dots\r\n"
    b"bare\n.not a terminator\n.\r\n"
    b"\rlone CR after a dot\r\n"
    b"\r\n"
    b"last\r\n"
)


def test_data_is_unstuffed_and_ends_at_its_terminator_whatever_the_chunks():
    stream = STUFFED + b".\r\nQUIT\r\n"
    for cut in range(1, len(stream)):
        assert read(stream, splits=[cut]) == (MESSAGE, "", b"QUIT\r\n"), cut
    assert read(stream, splits=range(1, len(stream))) == (MESSAGE, "", b"QUIT\r\n")


def test_an_empty_message_and_one_of_a_short_line_end_at_the_terminator():
    assert read(b".\r\nRSET\r\n") == (b"", "", b"RSET\r\n")
    assert read(b"a\r\n.\r\n", splits=[1, 3, 4]) == (b"a\r\n", "", b"")
    assert read(b"\r\n\r\n.\r\n") == (b"\r\n\r\n", "", b"")
    assert read(b"..\r\n.\r\n") == (b".\r\n", "", b"")


def test_a_message_over_the_size_limit_is_refused_once_its_terminator_came():
    body = b"x" * 78 + b"\r\n"
    stream = body * 100 + b".\r\nMAIL FROM:<a@b.example>\r\n"
    for splits in ([], [5, 4000, 7801], range(7, len(stream), 1009)):
        message, refused, rest = read(stream, splits=splits, size_limit=len(body) * 99)
        assert (message, refused, rest) == (b"", lmtp_data.TOO_MUCH, b"MAIL FROM:<a@b.example>\r\n")
    # At the limit exactly: accepted.
    assert read(stream, size_limit=len(body) * 100)[:2] == (body * 100, "")


def test_an_oversized_message_is_read_in_bounded_chunks(monkeypatch):
    monkeypatch.setattr(lmtp_data, "DROP_CHUNK", 4096)
    stream = (b"y" * 500 + b"\r\n") * 2000 + b".\r\n"
    assert read(stream, splits=range(3000, len(stream), 3000), size_limit=20_000)[1] == (
        lmtp_data.TOO_MUCH
    )


def test_a_line_over_the_line_limit_is_refused_with_500():
    ok, long = b"z" * 999 + b"\r\n", b"z" * 1000 + b"\r\n"
    assert read(ok + b".\r\n") == (ok, "", b"")
    assert read(long + b".\r\n", splits=[600]) == (b"", lmtp_data.TOO_LONG, b"")
    # A long line before the size limit is reached is the reason given, as aiosmtpd gives it.
    assert read(long * 30 + b".\r\n", size_limit=10_000)[1] == lmtp_data.TOO_LONG


def test_partial_terminator_is_the_longest_end_that_may_begin_one():
    assert [
        lmtp_data.partial_terminator(x) for x in (b"a", b"a\r", b"\r\n", b"\r\n.", b"\r\n.\r")
    ] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert lmtp_data.partial_terminator(b"\n.") == 0  # a bare LF begins no terminator


# --- the listener -------------------------------------------------------------------------


@pytest.fixture
def listener(settings, monkeypatch):
    """The LMTP listener as the lmtp_server command runs it: it stores, then rings for a
    drain task (kept here: these tests read the stored rows)."""
    settings.EMAIL_MAX_MESSAGE_BYTES = 300 * 1024
    settings.MAIL_INTAKE_INLINE = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(intake.doorbell, "send", lambda: None)
    port = free_port()
    ctl = controller("127.0.0.1", port)
    ctl.start()
    yield port
    ctl.stop()


def attachment_message(n: int, pdf: bytes) -> bytes:
    encoded = base64.encodebytes(pdf).replace(b"\n", b"\r\n")
    return (
        b"From: Alice <alice@acme.example>\r\nTo: premier@eservice.example\r\n"
        b"Subject: Report %d\r\nMessage-ID: <lmtp-chunks-%d@acme.example>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\n.A line that starts with a dot\r\n.\r\n"
        b"..\r\n\r\n--b1\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="r.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n%b--b1--\r\n" % (n, n, encoded)
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_stores_large_messages_byte_for_byte_with_dot_lines(alice, listener):
    pdfs = [bytes(range(256)) * (800 + i) for i in range(3)]  # ~200 KB each
    messages = [attachment_message(i, pdf) for i, pdf in enumerate(pdfs)]
    client = smtplib.LMTP("127.0.0.1", listener)
    try:
        client.ehlo("mx.eservice.example")
        assert client.mail("alice@acme.example")[0] == 250
        assert client.rcpt("premier@eservice.example")[0] == 250
        assert client.rcpt("support@eservice.example")[0] == 250
        assert client.data(messages[0]) == (250, b"2.0.0 OK")
        assert client.getreply() == (250, b"2.0.0 OK")  # RFC 2033: one per recipient
        for raw in messages[1:]:
            assert client.sendmail("alice@acme.example", ["premier@eservice.example"], raw) == {}
        assert client.noop()[0] == 250  # the session goes on after each DATA
    finally:
        client.quit()
    stored = list(InboundMessage.objects.order_by("pk"))
    assert [bytes(m.raw) for m in stored] == messages
    assert {m.status for m in stored} == {InboundStatus.STORED}  # queued for the workers
    assert stored[0].envelope_to == ["premier@eservice.example", "support@eservice.example"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_refuses_an_oversized_message_per_recipient_and_accepts_the_next(alice, listener):
    big = attachment_message(1, b"\x00" * 400 * 1024)
    small = eml("plain_new.eml")
    client = smtplib.LMTP("127.0.0.1", listener)
    try:
        client.ehlo("mx.eservice.example")
        assert client.mail("alice@acme.example")[0] == 250
        assert client.rcpt("premier@eservice.example")[0] == 250
        assert client.rcpt("support@eservice.example")[0] == 250
        assert client.data(big) == (552, b"5.3.4 Message too big")
        # RFC 2033: one reply per recipient; the second is waiting on the socket.
        assert client.getreply() == (552, b"5.3.4 Message too big")
        assert client.sendmail("alice@acme.example", ["premier@eservice.example"], small) == {}
    finally:
        client.quit()
    assert [bytes(m.raw) for m in InboundMessage.objects.all()] == [small]


def session(port: int, payload: bytes) -> bytes:
    """A raw LMTP session: LHLO, then `payload` written at once (pipelined), then QUIT;
    → everything the listener answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"LHLO mx.eservice.example\r\n" + payload + b"QUIT\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_keeps_bare_line_feeds_and_reads_the_commands_pipelined_after_data(alice, listener):
    raw = (
        b"From: alice@acme.example\nTo: premier@eservice.example\nSubject: Unix lines\n"
        b"Message-ID: <bare-lf@acme.example>\n\nfirst\n.\nsecond\n..\r\n"
    )
    envelope = b"MAIL FROM:<alice@acme.example>\r\nRCPT TO:<premier@eservice.example>\r\n"
    answer = session(listener, envelope + b"DATA\r\n" + raw + b".\r\nNOOP\r\n")
    codes = [line[:3] for line in answer.split(b"\r\n") if line[3:4] == b" "]
    # The greeting, LHLO, MAIL, RCPT, DATA (354), the message (250), NOOP, QUIT.
    assert codes == [b"220", b"250", b"250", b"250", b"354", b"250", b"250", b"221"], answer
    assert bytes(InboundMessage.objects.get().raw) == raw  # one CRLF line: nothing unstuffed


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_data_without_recipients_or_with_an_argument_is_refused(listener):
    answer = session(listener, b"MAIL FROM:<a@acme.example>\r\nDATA\r\nRCPT TO:<x@y.example>\r\n")
    assert b"503 Error: need RCPT command" in answer
    answer = session(
        listener, b"MAIL FROM:<a@acme.example>\r\nRCPT TO:<x@y.example>\r\nDATA now\r\n"
    )
    assert b"501 Syntax: DATA" in answer
    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()
