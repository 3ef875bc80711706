"""Ticket references ("CS-000123"): plain text functions, free of the models, so search and
mail parsing can use them without importing the models package."""

import re

REFERENCE_RE = re.compile(r"CS-(\d{1,12})", re.IGNORECASE)


def format_reference(pk: int | None) -> str:
    return f"CS-{pk:06d}" if pk else "CS-new"


def pk_from_reference(reference: str) -> int | None:
    match = REFERENCE_RE.fullmatch((reference or "").strip())
    return int(match.group(1)) if match else None
