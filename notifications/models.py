"""The notification outbox, watchers and mail preferences (SPEC section 7)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """What a recipient can turn off. Clients see theirs, staff theirs (escalations and
    warnings included); on-call pages cannot be turned off."""

    UPDATES = "updates", _("Ticket updates (acknowledgement, status, resolution)")
    REPLIES = "replies", _("Replies on my tickets")
    ESCALATIONS = "escalations", _("Escalations")
    CREDITS = "credits", _("Service credits")
    NEW_TICKETS = "new_tickets", _("New tickets (staff)")
    CLIENT_REPLIES = "client_replies", _("Client replies and reopened tickets (staff)")
    CREDIT_CLAIMS = "credit_claims", _("Credit claims (staff)")
    ONCALL = "oncall", _("On-call pages (always sent)")


CLIENT_CATEGORIES = (Category.UPDATES, Category.REPLIES, Category.ESCALATIONS, Category.CREDITS)
STAFF_CATEGORIES = (
    Category.NEW_TICKETS,
    Category.CLIENT_REPLIES,
    Category.ESCALATIONS,
    Category.CREDIT_CLAIMS,
)
ALWAYS_SENT = (Category.ONCALL,)


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped (turned off by the recipient)")


class Notification(models.Model):
    """One mail to one recipient, written in the transaction of the change that causes it
    (notifications.fanout) and sent by notifications.delivery."""

    kind = models.CharField(max_length=30)
    category = models.CharField(max_length=20, choices=Category.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        # notification_thread_idx (ticket, email, id) serves the ticket's rows and its
        # cascade; a second index would only cost every outbox insert.
        db_index=False,
    )
    comment = models.ForeignKey(
        "tickets.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    credit = models.ForeignKey(
        "availability.ServiceCredit",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    email = models.CharField(max_length=254)
    language = models.CharField(max_length=8, default="en")
    message_id = models.CharField(max_length=255, unique=True)
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Read by notifications.delivery.claim(): only rows still to send are indexed.
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # Read by notifications.render (threading: this recipient's first mail).
            models.Index(fields=["ticket", "email", "id"], name="notification_thread_idx"),
        ]

    def __str__(self):
        return f"{self.kind} to {self.email}"


class Watcher(models.Model):
    """A colleague of the ticket's organization who gets the ticket's client mail."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="watchers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watching"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="watcher_once_per_ticket")
        ]

    def __str__(self):
        return f"{self.user} watches {self.ticket_id}"


class OptOut(models.Model):
    """A category this address turned off (portal, admin, or a one-click unsubscribe).
    Keyed by address so the queue addresses, which are no user, can opt out too."""

    email = models.CharField(max_length=254)
    category = models.CharField(max_length=20, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email", "category"]
        constraints = [
            models.UniqueConstraint(fields=["email", "category"], name="optout_once_per_category")
        ]
        verbose_name = _("notification opt-out")

    def __str__(self):
        return f"{self.email}: {self.category} off"
