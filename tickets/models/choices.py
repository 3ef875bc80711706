"""The ticket vocabulary: statuses, priorities, features, channels and the reference."""

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

REFERENCE_RE = re.compile(r"CS-(\d{1,12})", re.IGNORECASE)


def format_reference(pk: int | None) -> str:
    return f"CS-{pk:06d}" if pk else "CS-new"


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class Priority(models.TextChoices):
    P0 = "P0", _("P0 — Critical")
    P1 = "P1", _("P1 — High")
    P2 = "P2", _("P2 — Normal")
    P3 = "P3", _("P3 — Low")


class Feature(models.TextChoices):
    SESSION_REPLAY = "session_replay", _("Session Replay")
    HEATMAPS = "heatmaps", _("Heatmaps")
    ZONING = "zoning", _("Zoning")
    WORKSPACE = "workspace", _("Workspace")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    PHONE = "phone", _("Phone")


def pk_from_reference(reference: str) -> int | None:
    match = REFERENCE_RE.fullmatch((reference or "").strip())
    return int(match.group(1)) if match else None
