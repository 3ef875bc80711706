"""Inbound mail, stored raw before anything else happens to it (spec 5: nothing is lost)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InboundStatus(models.TextChoices):
    STORED = "stored", _("Stored")
    PROCESSING = "processing", _("Processing")
    DONE = "done", _("Done")
    IGNORED = "ignored", _("Ignored (loop or bulk)")
    QUARANTINED = "quarantined", _("Quarantined")
    # From a staff address without that person's signed reply address: waits for staff.
    HELD = "held", _("Held for staff review")
    FAILED = "failed", _("Failed")
    DISCARDED = "discarded", _("Discarded")


# Statuses pipeline.process() may act on; the others are final until staff retry.
PROCESSABLE = (InboundStatus.STORED, InboundStatus.PROCESSING, InboundStatus.FAILED)


class InboundMessage(models.Model):
    key = models.CharField(
        max_length=255, unique=True, help_text=_("Message-ID, or sha256:<digest> of the bytes.")
    )
    raw = models.BinaryField()
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    to_addresses = models.JSONField(default=list, blank=True)
    date = models.DateTimeField(null=True, blank=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.JSONField(default=list, blank=True)
    html = models.TextField(blank=True, help_text=_("Sanitized HTML body, for display."))
    received_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=InboundStatus.choices, default=InboundStatus.STORED
    )
    reason = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    comment = models.ForeignKey(
        "tickets.Comment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # Read by the admin's status filter and its failed/quarantined count.
            models.Index(fields=["status", "-received_at"], name="inbound_status_idx"),
        ]

    def __str__(self):
        return f"{self.key} ({self.status})"


class AutoReply(models.Model):
    """One row per automatic mail sent to an address; pipeline rate limits read it."""

    class Kind(models.TextChoices):
        ACK = "ack", _("Acknowledgement")
        QUARANTINE = "quarantine", _("Access instructions")

    address = models.CharField(max_length=320)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Read by actions.may_auto_reply (address, kind, window).
            models.Index(fields=["address", "kind", "sent_at"], name="autoreply_window_idx"),
        ]

    def __str__(self):
        return f"{self.kind} to {self.address}"
