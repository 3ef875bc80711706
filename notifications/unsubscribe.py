"""Signed one-click unsubscribe tokens (RFC 8058): an address and a category, nothing else."""

from django.core import signing

SALT = "eservice.unsubscribe"


def make_token(email: str, category: str) -> str:
    return signing.dumps([email.lower(), category], salt=SALT, compress=True)


def read_token(token: str) -> tuple[str, str] | None:
    try:
        email, category = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return email, category
