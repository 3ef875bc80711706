"""The tickets app's models, by subject; every name stays importable from tickets.models."""

from .choices import (
    ACTIVE_STATUSES,
    REFERENCE_RE,
    Channel,
    Feature,
    Priority,
    Status,
    format_reference,
    pk_from_reference,
)
from .desk import Macro, SatisfactionRating, TicketView
from .indexes import LIST_INDEXES, OPEN
from .records import (
    INLINE_IMAGE_TYPES,
    Attachment,
    AttachmentQuerySet,
    Comment,
    CommentQuerySet,
    OutboundMessage,
    TicketEvent,
    attachment_path,
)
from .ticket import (
    DONE_FIELD,
    PHASES,
    RUNNING,
    Ticket,
    TicketManager,
    TicketQuerySet,
    breached_q,
    next_due,
)

__all__ = [
    "ACTIVE_STATUSES",
    "DONE_FIELD",
    "INLINE_IMAGE_TYPES",
    "LIST_INDEXES",
    "OPEN",
    "PHASES",
    "REFERENCE_RE",
    "RUNNING",
    "Attachment",
    "AttachmentQuerySet",
    "Channel",
    "Comment",
    "CommentQuerySet",
    "Feature",
    "Macro",
    "OutboundMessage",
    "Priority",
    "SatisfactionRating",
    "Status",
    "Ticket",
    "TicketEvent",
    "TicketManager",
    "TicketQuerySet",
    "TicketView",
    "attachment_path",
    "breached_q",
    "format_reference",
    "next_due",
    "pk_from_reference",
]
