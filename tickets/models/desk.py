"""Staff desk helpers and client feedback: macros, views of a ticket, satisfaction ratings."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import Priority, Status
from .ticket import Ticket


class Macro(models.Model):
    """A canned response staff apply from the ticket page in one click.

    The body's placeholders ({reference}, {client_name}, ...) are filled by
    tickets.macros.render_macro for the ticket at hand; the optional changes are applied
    through the services when the agent sends.
    """

    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Placeholders: {reference}, {subject}, {client_name}, {organization}, "
            "{agent_name}, {response_due}, {resolution_due}."
        ),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Offered on tickets of clients in this language; empty: every ticket."),
    )
    internal = models.BooleanField(
        _("internal note"), default=False, help_text=_("Posts an internal note, not a reply.")
    )
    set_status = models.CharField(
        _("set status"), max_length=10, choices=Status.choices, blank=True
    )
    set_priority = models.CharField(
        _("set priority"), max_length=2, choices=Priority.choices, blank=True
    )
    assign_to_me = models.BooleanField(_("assign to the agent applying it"), default=False)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "title"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")

    def __str__(self):
        return self.title


class TicketView(models.Model):
    """When a portal user last opened a ticket; the list's unread marker compares staff
    activity with it (TicketQuerySet.with_unread_for)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ticket_views"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="views")
    viewed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ticket"], name="ticketview_user_ticket_uniq")
        ]

    def __str__(self):
        return f"{self.user_id} viewed {self.ticket_id}"


class SatisfactionRating(models.Model):
    """The one-question survey a client answers after resolution: one per ticket."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="satisfaction")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="satisfaction_ratings",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="satisfaction_rating_1_to_5"
            ),
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.rating}/5"
