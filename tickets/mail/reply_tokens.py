"""Signed reply addresses: the only way an inbound mail can act as a member of staff.

A notification to staff carries ``Reply-To: premier+<token>@domain``. The token names the
recipient and the ticket and is signed with SECRET_KEY, so a reply through that address proves
that it answers a mail this person received; a ``From:`` header alone proves nothing.
Routing ignores the ``+tag`` part, so the reply reaches the same queue.
"""

from dataclasses import dataclass

from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "eservice.reply-token"
MAC_LENGTH = 20


@dataclass(frozen=True)
class ReplyToken:
    user_id: int
    ticket_id: int


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _mac(body: str) -> str:
    return salted_hmac(SALT, body, algorithm="sha256").hexdigest()[:MAC_LENGTH]


def make_token(user_id: int, ticket_id: int) -> str:
    """'r<user>-<ticket>-<mac>': letters, digits and hyphens only, safe in a local part."""
    body = f"r{_b36(user_id)}-{_b36(ticket_id)}"
    return f"{body}-{_mac(body)}"


def reply_address(local_part: str, domain: str, *, user_id: int, ticket_id: int) -> str:
    """The address a staff member's reply must go to, e.g. premier+r1-2-abc…@example.com."""
    return f"{local_part}+{make_token(user_id, ticket_id)}@{domain}"


def read_token(address: str) -> ReplyToken | None:
    """The valid token in an address's +tag, or None (no tag, malformed, or forged)."""
    local = (address or "").strip().strip("<>\"'").rpartition("@")[0]
    if "+" not in local:
        return None
    token = local.split("+", 1)[1].lower()
    parts = token.split("-")
    if len(parts) != 3 or not parts[0].startswith("r"):
        return None
    body = f"{parts[0]}-{parts[1]}"
    if not constant_time_compare(parts[2], _mac(body)):
        return None
    try:
        return ReplyToken(user_id=int(parts[0][1:], 36), ticket_id=int(parts[1], 36))
    except ValueError:
        return None
