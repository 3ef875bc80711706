"""The portal's ticket search, in one place so a full-text backend can replace its body."""

from django.db.models import Exists, OuterRef, Q

from .models import Comment, pk_from_reference


def search_tickets(tickets, term: str, user):
    """Tickets of `tickets` matching `term`: a reference ("CS-000123") exactly, otherwise
    words in the subject, the description or a comment the user may read (public comments
    only for clients, so a note's text never reveals which ticket it is on)."""
    term = (term or "").strip()
    if not term:
        return tickets
    if pk_from_reference(term):
        return tickets.by_reference(term)
    comments = Comment.objects.filter(ticket=OuterRef("pk"), body__icontains=term)
    if not user.is_staff:
        comments = comments.filter(internal=False)
    return tickets.filter(
        Q(subject__icontains=term) | Q(description__icontains=term) | Exists(comments)
    )
