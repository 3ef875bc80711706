"""RFC 5322 bytes → the fields the pipeline needs. Defensive: a malformed message still parses.

Used by store.store() (headers only, cheap) and pipeline.process() (bodies and attachments).
Parsed with the compat32 policy and decoded here (RFC 2047 words, charsets with
errors="replace"): the same results as email.policy.default for what we read, an order of
magnitude faster (the header registry dominated the benchmark's profile).
"""

import datetime
import email
import email.parser
import email.utils
import hashlib
import html
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from email.header import Header, decode_header, make_header
from email.parser import BytesHeaderParser
from html.parser import HTMLParser
from typing import Any

import nh3
from django.utils import timezone

MSGID_RE = re.compile(r"<[^<>\s]+>")
PRIORITY_FLAG_RE = re.compile(r"\b(p0|critique|critical|urgent|urgence)\b", re.IGNORECASE)
BOUNCE_LOCAL_PARTS = {"mailer-daemon", "postmaster", "mail-daemon", "bounce", "bounces"}
NOREPLY_RE = re.compile(r"^(no-?reply|do-?not-?reply)([+.\-_].*)?$", re.IGNORECASE)
HEADER_PARSER = BytesHeaderParser()


@dataclass
class Envelope:
    """Header fields stored on InboundMessage before any processing."""

    key: str
    message_id: str
    subject: str
    from_address: str
    from_name: str
    to_addresses: list
    date: datetime.datetime | None
    in_reply_to: str
    references: list
    auto_reason: str = ""
    cc_addresses: list = field(default_factory=list)


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Content:
    text: str
    html: str = ""
    attachments: list = field(default_factory=list)


def decode_words(value) -> str:
    """RFC 2047 encoded words and raw 8-bit bytes → text, never raising."""
    if value is None:
        return ""
    if isinstance(value, str) and _has_surrogates(value):
        # Raw 8-bit bytes in a header (common, though not RFC 5322): most often UTF-8.
        value = value.encode("ascii", "surrogateescape").decode("utf-8", errors="replace")
    try:
        chunks = decode_header(value if isinstance(value, Header) else str(value))
        if any(charset in (None, "unknown-8bit") for _, charset in chunks if isinstance(_, bytes)):
            raise ValueError  # raw 8-bit bytes: decode them ourselves
        return str(make_header(chunks))
    except Exception:  # noqa: BLE001 - unknown charset, raw bytes, malformed encoded word
        return _decode_loosely(value)


def _decode_loosely(value) -> str:
    """Each chunk in its own charset (UTF-8 when unknown), replacing what does not decode."""
    try:
        chunks = decode_header(value if isinstance(value, Header) else str(value))
    except Exception:  # noqa: BLE001
        return str(value)
    return " ".join(_decode_chunk(c, cs) for c, cs in chunks)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _decode_chunk(chunk, charset) -> str:
    if isinstance(chunk, str):
        return chunk
    charset = charset if charset and charset != "unknown-8bit" else "utf-8"
    try:
        return chunk.decode(charset, errors="replace")
    except LookupError:
        return chunk.decode("utf-8", errors="replace")


def _header(msg, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, Header):
        return decode_words(value).strip()
    return str(value).strip()


def message_ids(value: str) -> list[str]:
    """'<a@x> <b@y>' → ['<a@x>', '<b@y>']; a bare id gets its brackets back."""
    found = MSGID_RE.findall(value or "")
    if not found and (value or "").strip():
        found = [f"<{value.strip().strip('<>')}>"]
    return found


def _addresses(msg, *names) -> list[tuple[str, str]]:
    pairs = []
    for name in names:
        values = [str(v) for v in msg.get_all(name) or []]
        for display, addr in email.utils.getaddresses(values):
            if "@" in addr:
                pairs.append((decode_words(display), addr.strip().lower()))
    return pairs


def _date(msg) -> datetime.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(_header(msg, "Date"))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def key_for(message_id: str, raw: bytes) -> str:
    if message_id and len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def head(raw: bytes) -> bytes:
    """The header block (through its blank line): what a headers-only parse reads of a
    message, without splitting a large body into lines first."""
    end = _BLANK_LINE_B.search(raw)
    return raw[: end.end()] if end else raw


def envelope(raw: bytes, msg=None) -> Envelope:
    msg = msg if msg is not None else HEADER_PARSER.parsebytes(head(raw))
    ids = message_ids(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else ""
    senders = _addresses(msg, "From") or _addresses(msg, "Sender", "Return-Path")
    name, address = senders[0] if senders else ("", "")
    in_reply_to = message_ids(_header(msg, "In-Reply-To"))
    return Envelope(
        key=key_for(message_id, raw),
        message_id=message_id,
        subject=" ".join(decode_words(msg.get("Subject")).split())[:500],
        from_address=address,
        from_name=name,
        to_addresses=[a for _, a in _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To")],
        date=_date(msg),
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=message_ids(_header(msg, "References")),
        auto_reason=auto_reason(msg, address),
        cc_addresses=cc_addresses(msg),
    )


def cc_addresses(msg) -> list[str]:
    """The Cc: addresses (lower case): those of the ticket's organization become watchers."""
    return [a for _, a in _addresses(msg, "Cc")]


def display_name(msg) -> str:
    senders = _addresses(msg, "From")
    return senders[0][0] if senders else ""


def auto_reason(msg, sender: str) -> str:
    """Why a message is automatic or bulk (RFC 3834 and common practice), or "" for a person."""
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "List-Id"):
        if _header(msg, name):
            return f"{name} header"
    content_type = _header(msg, "Content-Type").lower()
    if content_type.startswith("multipart/report"):
        return "delivery report (bounce)"
    local = sender.rpartition("@")[0].lower()
    if local in BOUNCE_LOCAL_PARTS or NOREPLY_RE.match(local):
        return f"automatic sender {sender}"
    if _header(msg, "Return-Path") == "<>":
        return "null return path (bounce)"
    return ""


def priority_flag(subject: str) -> bool:
    return bool(PRIORITY_FLAG_RE.search(subject or ""))


# --- bodies -------------------------------------------------------------------------------


def parse(raw: bytes):
    """email.message_from_bytes(raw), faster for large MIME bodies (parse_quickly())."""
    text = raw.decode("ascii", "surrogateescape")  # as message_from_bytes() decodes
    try:
        msg = parse_quickly(text)
    except Exception:  # noqa: BLE001 - the standard parser decides
        msg = None
    return msg if msg is not None else email.message_from_string(text)


# The end of a header block: its last line's end and the blank line after it.
_BLANK_LINE = re.compile(r"\n\r?\n")
_BLANK_LINE_B = re.compile(rb"\n\r?\n")
_FALLBACK_TYPES = ("message/", "multipart/digest")
_HEADER_TEXT_PARSER = email.parser.Parser()


def parse_quickly(
    text: str, nested: bool = False, parser: "email.parser.Parser[Any] | None" = None
):
    """The Message that email's feed parser makes of `text`, or None where it might differ.

    The feed parser reads a body line by line (a 200 KB attachment is 3,600 lines, most of
    the intake's parsing time); here a header block is cut at its blank line and parsed on
    its own, a leaf part's body is taken whole, and a multipart is split at its boundary
    lines with one regular expression. Only well-formed messages take this path: lone CR
    line ends, header defects, a multipart without its closing boundary, empty parts,
    message/* parts and digests are left to the feed parser (None). parser: the Parser (its
    message class and policy) to read header blocks with; compat32's Message by default.
    """
    parser = parser or _HEADER_TEXT_PARSER
    if not nested and text.count("\r") != text.count("\r\n"):
        return None
    if text.startswith(("\n", "\r\n")):
        return None  # no header block: rare, the feed parser's
    end = _BLANK_LINE.search(text)
    header, body = (text[: end.start() + 1], text[end.end() :]) if end else (text, "")
    msg = parser.parsestr(header, headersonly=True)
    if msg.defects or msg.get_payload() != "":
        return None
    content_type = msg.get_content_type()
    if content_type.startswith(_FALLBACK_TYPES):
        return None
    if msg.get_content_maintype() != "multipart":
        msg.set_payload(body)
        return msg
    return _split_multipart(msg, body, nested, parser)


def _without_line_end(text: str) -> str:
    """RFC 2046: the line end before a boundary belongs to the boundary."""
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _split_multipart(msg, body: str, nested: bool, parser: "email.parser.Parser[Any]"):
    boundary = msg.get_boundary()
    if not boundary:
        return None
    delimiters = re.compile(rf"^--{re.escape(boundary)}(--)?[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
    parts, start, first, line_end = [], None, None, False
    for found in delimiters.finditer(body):
        if start is None:
            first = found.start()
        else:
            part = body[start : found.start()]
            sub = parse_quickly(_without_line_end(part), True, parser) if part else None
            if sub is None:
                return None
            parts.append(sub)
        start, line_end = found.end(), found.group(0).endswith("\n")
        if found.group(1):
            break
    else:
        return None  # no closing boundary
    if not parts or first is None:
        return None
    preamble = body[:first]
    msg.preamble = _without_line_end(preamble) if preamble else None
    # A nested part's text ends before the line end that its parent's boundary owns: the
    # feed parser's epilogue without it, None when nothing followed the closing line.
    msg.epilogue = body[start:] if line_end or not nested else None
    msg.set_payload(parts)
    return msg


# Messages store_many() parsed in full, by InboundMessage pk, for process_many() in the same
# process: each is parsed once. Bounded; an entry is used once and only for the same bytes.
_PARSED: OrderedDict = OrderedDict()
PARSED_CACHE_SIZE = 1000


def remember(pk: int, raw: bytes, msg) -> None:
    _PARSED[pk] = (len(raw), hash(raw), msg)
    _PARSED.move_to_end(pk)
    while len(_PARSED) > PARSED_CACHE_SIZE:
        _PARSED.popitem(last=False)


def parsed(pk: int, raw: bytes):
    """The message store_many() parsed from these very bytes, else a fresh parse."""
    entry = _PARSED.pop(pk, None)
    if entry is not None and entry[:2] == (len(raw), hash(raw)):
        return entry[2]
    return parse(raw)


def _text_of(part) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", errors="replace")


def _leaves(part):
    """Leaf parts in order; a forwarded message/rfc822 is one leaf (kept whole as .eml)."""
    if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), list):
        for sub in part.get_payload():
            yield from _leaves(sub)
    else:
        yield part


def _is_attachment(part) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment" or part.get_filename():
        return True
    maintype = part.get_content_maintype()
    return maintype not in ("text", "multipart")


_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "message/rfc822": "eml"}


def _attachment(part, index: int) -> Attachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822":
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
    else:
        data = part.get_payload(decode=True) or b""
    name = decode_words(part.get_filename() or "")
    if not name:
        name = f"attachment-{index}.{_EXTENSIONS.get(content_type, 'bin')}"
    inline = (part.get_content_disposition() or "") == "inline" or bool(_header(part, "Content-ID"))
    return Attachment(name=name, content_type=content_type, data=data, inline=inline)


def content(msg, raw: bytes) -> Content:
    """Plain text preferred; HTML-only is sanitized and turned into text; attachments listed."""
    try:
        plain, html_body, attachments = _parts(msg)
    except Exception:  # noqa: BLE001 - malformed MIME: keep what the bytes say
        plain, html_body, attachments = None, None, []
    if plain is None and html_body is None and not attachments:
        plain = _raw_body(raw)
    clean = nh3.clean(html_body) if html_body else ""
    text = plain if plain is not None else html_to_text(clean)
    return Content(text=_normalise(text), html=clean, attachments=attachments)


def _parts(msg) -> tuple[str | None, str | None, list]:
    """The first text/plain part, the first text/html part and the attachments."""
    plain, html_body, attachments = None, None, []
    for index, part in enumerate(_leaves(msg), start=1):
        if _is_attachment(part):
            attachments.append(_attachment(part, index))
        elif part.get_content_type() == "text/plain" and plain is None:
            plain = _text_of(part)
        elif part.get_content_type() == "text/html" and html_body is None:
            html_body = _text_of(part)
    return plain, html_body, attachments


def _raw_body(raw: bytes) -> str:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    return body.decode("utf-8", errors="replace")


def _normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


class _TextExtractor(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in self.BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(" ".join(data.split("\n")))


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(" ".join(line.split()) for line in text.split("\n")))
