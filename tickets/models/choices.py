"""The ticket vocabulary: statuses, priorities, features, channels and the reference."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..references import REFERENCE_RE, format_reference, pk_from_reference

__all__ = [
    "ACTIVE_STATUSES",
    "REFERENCE_RE",
    "Channel",
    "Feature",
    "Priority",
    "Status",
    "format_reference",
    "pk_from_reference",
]


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
