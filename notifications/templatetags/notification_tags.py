from django import template

register = template.Library()


@register.simple_tag
def ticket_watchers(ticket):
    """The ticket's watchers for its page (one query)."""
    return list(ticket.watchers.select_related("user").order_by("id"))
