"""The staff side of tickets: the desk, the ticket page, and the lists around them."""

from django.contrib import admin

from tickets.models import Ticket

from .records import CommentAdmin, MacroAdmin, TicketEventAdmin, comment_badge, ticket_ref
from .ticket import TicketAdmin

admin.site.register(Ticket, TicketAdmin)

__all__ = [
    "CommentAdmin",
    "MacroAdmin",
    "TicketAdmin",
    "TicketEventAdmin",
    "comment_badge",
    "ticket_ref",
]
