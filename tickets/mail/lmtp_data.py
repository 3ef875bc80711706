"""The DATA of an LMTP transaction read in chunks (RFC 5321 4.5.2), for lmtp.IntakeLMTP.

aiosmtpd reads DATA one line at a time through a stream reader whose limit is one line, so
the socket is paused and resumed every two kilobytes: a 200 KB attachment costs 3,600 awaits,
about 10 ms of the listener's time. read_data() lets the reader buffer what the socket has and
finds the terminating CRLF.CRLF in it, then undoes the dot-stuffing of the whole message at
once. The rules stay aiosmtpd's: only CRLF ends a line (a bare LF is data, never the start of
a terminator or of a stuffed dot), a line's leading dot is removed, a message over the size
limit is answered 552 and one with a line over the line limit 500, each only once the client
has sent its terminator; nothing past the terminator is read (it is the next command).
"""

import asyncio

TERMINATOR = b"\r\n.\r\n"
# The CRLF that ended the DATA command line: the first line of the message follows a line end.
START = b"\r\n"
# How much of an oversized message is held at a time while the rest is read and dropped.
DROP_CHUNK = 64 * 1024
TOO_MUCH = "552 Error: Too much mail data"  # lmtp.IntakeLMTP.push() words it per recipient
TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
# asyncio.StreamReader keeps its buffer limit in a private attribute, read and set here only
# for the time of one DATA (lmtp.IntakeLMTP checks that it exists).
LIMIT_ATTRIBUTE = "_limit"


def partial_terminator(data: bytes | bytearray) -> int:
    """The length of the longest end of `data` that begins the terminator (0 to 4): the bytes
    that may complete it are read before the terminator is searched for past them."""
    for length in range(len(TERMINATOR) - 1, 0, -1):
        if data.endswith(TERMINATOR[:length]):
            return length
    return 0


def longest_line(stuffed: bytes | bytearray) -> int:
    """The longest line, without its CRLF (a bare LF does not end a line)."""
    return max(map(len, stuffed.split(b"\r\n")))


def unstuff(stuffed: bytes | bytearray) -> bytes:
    """START + the lines received before the terminator (each ending with CRLF) → the message:
    the leading dot of every line removed (RFC 5321 4.5.2)."""
    return bytes(stuffed).replace(b"\r\n.", b"\r\n")[len(START) :]


def refusal(stuffed: bytes | bytearray, size_limit: int | None, line_limit: int) -> str:
    """Why the message (START + its lines, stuffed) is refused, or "": a line over the line
    limit (its CRLF included), else a message over the size limit (aiosmtpd's counts)."""
    if longest_line(stuffed) + 2 > line_limit:
        return TOO_LONG
    if size_limit and len(stuffed) - len(START) > size_limit:
        return TOO_MUCH
    return ""


async def read_data(
    reader: asyncio.StreamReader, size_limit: int | None, line_limit: int
) -> tuple[bytes, str]:
    """Read one DATA through its terminator → (the message, "") or (b"", the refusal)."""
    saved = getattr(reader, LIMIT_ATTRIBUTE)
    # The whole message may wait in the buffer: no pause of the socket, one search per chunk.
    setattr(reader, LIMIT_ATTRIBUTE, max(saved, (size_limit or 0) + len(TERMINATOR), DROP_CHUNK))
    try:
        return await _read(reader, size_limit, line_limit)
    finally:
        setattr(reader, LIMIT_ATTRIBUTE, saved)


async def _read(
    reader: asyncio.StreamReader, size_limit: int | None, line_limit: int
) -> tuple[bytes, str]:
    """1. Where the end of what was read may begin the terminator, read the few bytes that
       complete or rule it out; else read through the next terminator in the stream.
    2. Past the size limit (with room for a terminator yet to come), decide the refusal on
       what was read, then keep only the last bytes (a terminator may end in them, or begin)
       and read the rest in bounded chunks.
    3. At the terminator: the refusal, or the message unstuffed."""
    buf, refused = bytearray(START), ""
    while not buf.endswith(TERMINATOR):
        pending = partial_terminator(buf)
        if pending:
            buf += await reader.readexactly(len(TERMINATOR) - pending)
        else:
            try:
                buf += await reader.readuntil(TERMINATOR)
            except asyncio.LimitOverrunError as exc:
                buf += await reader.readexactly(exc.consumed)
        if not refused and size_limit and len(buf) - len(START) > size_limit + len(TERMINATOR):
            refused = refusal(buf, None, line_limit) or TOO_MUCH
            setattr(reader, LIMIT_ATTRIBUTE, DROP_CHUNK)
        if refused:
            del buf[: -len(TERMINATOR)]
    if refused:
        return b"", refused
    stuffed = buf[: -len(TERMINATOR) + 2]  # the last line's CRLF is the message's
    refused = refusal(stuffed, size_limit, line_limit)
    return (b"", refused) if refused else (unstuff(stuffed), "")
