"""What happens on a ticket: comments, attachments, audit events, outbound mail."""

from typing import Self

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.tenancy import OrganizationScopedQuerySet

from .choices import Channel
from .ticket import Ticket


class CommentQuerySet(OrganizationScopedQuerySet["Comment"]):
    organization_field = "ticket__organization"

    def for_clients(self) -> Self:
        return self.public()

    def public(self) -> Self:
        return self.filter(internal=False)


class Comment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comments",
    )
    body = models.TextField()
    internal = models.BooleanField(default=False)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField()

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_idx")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self):
        kind = "note" if self.internal else "reply"
        return f"{kind} on {self.ticket.reference}"

    @property
    def by_staff(self) -> bool:
        return bool(self.author and self.author.is_staff)


INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def attachment_path(instance, filename):
    return f"attachments/{instance.ticket_id}/{filename}"


class AttachmentQuerySet(OrganizationScopedQuerySet["Attachment"]):
    organization_field = "ticket__organization"

    def for_clients(self) -> Self:
        return self.filter(internal=False)


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    internal = models.BooleanField(default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AttachmentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.filename

    @property
    def is_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES

    @property
    def previewable(self) -> bool:
        """Served inline (with a restrictive CSP) rather than as a download. SVG is not on
        the list: it can carry script."""
        return self.is_image or self.content_type == "application/pdf"


class TicketEvent(models.Model):
    """The audit trail and the SLA timeline: every change, who made it, old → new."""

    class Kind(models.TextChoices):
        AUDIT = "audit", _("Change")
        SLA = "sla", _("SLA clock")
        ESCALATION = "escalation", _("Escalation")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.AUDIT)
    action = models.CharField(max_length=40)
    field = models.CharField(max_length=40, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    note = models.TextField(blank=True)
    # What the event's sentence needs besides action/field/values (deadlines, durations), so
    # it is rendered in the reader's language (tickets.event_text); `note` keeps user text.
    params = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False, help_text=_("Shown to the client."))

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticketevent_ticket_idx")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")

    def __str__(self):
        return f"{self.ticket_id} {self.action} {self.field}"


class OutboundMessage(models.Model):
    """Every mail the product sends about a ticket, so replies thread back by Message-ID."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="outbound_messages"
    )
    message_id = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=30)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    auto_submitted = models.CharField(max_length=20, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["ticket", "-created_at"], name="outbound_ticket_idx")]

    def __str__(self):
        return f"{self.kind} to {', '.join(self.to)}"
