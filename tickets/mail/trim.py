"""Quoted history and signatures off a reply, so the ticket shows what the person wrote.

The full original stays in InboundMessage.raw; pipeline uses trim_reply() for comments only.
"""

import re

# A line that starts the quoted original: everything from here down is history.
QUOTE_HEADERS = [
    re.compile(r"^On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(
        r"^-{2,}\s*(Original Message|Message d'origine|Ursprüngliche Nachricht)\s*-{2,}",
        re.IGNORECASE,
    ),
    re.compile(r"^_{10,}\s*$"),
]
OUTLOOK_FROM = re.compile(r"^\*?(From|De|Von)\s*:\*?\s", re.IGNORECASE)
OUTLOOK_NEXT = re.compile(r"^\*?(Sent|Date|Envoyé|Gesendet|To|À)\s*:", re.IGNORECASE)
SIGNATURE = re.compile(r"^--\s?$")


def _starts_history(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if any(p.match(line) for p in QUOTE_HEADERS):
        return True
    if _wrapped_attribution(lines, i):
        return True
    if OUTLOOK_FROM.match(line):
        following = [x.strip() for x in lines[i + 1 : i + 4]]
        return any(OUTLOOK_NEXT.match(x) for x in following)
    return False


def _wrapped_attribution(lines: list[str], i: int) -> bool:
    """Gmail wraps a long attribution over two lines."""
    line = lines[i].strip()
    if i + 1 >= len(lines) or not line or line.startswith(">"):
        return False
    joined = f"{line} {lines[i + 1].strip()}"
    return any(p.match(joined) for p in QUOTE_HEADERS[:3])


def trim_reply(text: str) -> str:
    """The new part of a reply; the whole text when trimming would leave nothing."""
    lines = text.split("\n")
    kept = []
    for i, line in enumerate(lines):
        if SIGNATURE.match(line) or _starts_history(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()
