"""The staff side of tickets: the desk, the ticket page, and the lists around them."""

from .records import CommentAdmin, MacroAdmin, TicketEventAdmin, comment_badge, ticket_ref
from .ticket import TicketAdmin

# TicketAdmin is registered by escalation.admin, composed with the sla and escalation parts.

__all__ = [
    "CommentAdmin",
    "MacroAdmin",
    "TicketAdmin",
    "TicketEventAdmin",
    "comment_badge",
    "ticket_ref",
]
