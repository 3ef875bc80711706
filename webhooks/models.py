"""Endpoints staff register, the deliveries owed to them (an outbox) and every attempt made."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The events an endpoint may subscribe to (SPEC section 7), in the order the API lists them.
EVENTS = (
    "ticket.created",
    "ticket.updated",
    "comment.public",
    "ticket.escalated",
    "ticket.breached",
    "ticket.resolved",
    "credit.claimed",
)


def validate_events(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event."))
    unknown = [e for e in value if e not in EVENTS]
    if unknown:
        raise ValidationError(
            _("Unknown event: %(events)s.") % {"events": ", ".join(map(str, unknown))}
        )


class Format(models.TextChoices):
    JSON = "json", _("JSON (signed)")
    SLACK = "slack", _("Slack or Teams incoming webhook")


class EndpointState(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    FAILING = "failing", _("Failing")
    INACTIVE = "inactive", _("Inactive")


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, validators=[validate_events])
    # The HMAC key: it must be readable to sign each body, so it is stored; the API never
    # returns it and the admin never displays it.
    secret = models.CharField(_("secret"), max_length=255)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices, default="json")
    active = models.BooleanField(_("active"), default=True)
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("Set when a delivery gave up after a day of retries; cleared by a success."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url

    @property
    def state(self) -> str:
        if not self.active:
            return EndpointState.INACTIVE
        return EndpointState.FAILING if self.failing_since else EndpointState.HEALTHY


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event owed to one endpoint. The primary key is the delivery id the receiver sees
    (`X-EService-Delivery` and the body's `id`), the same on every retry."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No database constraint: emit() works from a list of endpoints cached for a few seconds,
    # and an endpoint deleted meanwhile in another process must not make the caller's ticket
    # write fail at commit. The sender drops a delivery whose endpoint is gone; Django still
    # deletes an endpoint's deliveries with it.
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_constraint=False,
    )
    event = models.CharField(_("event"), max_length=40)
    # {event, created_at, data}, frozen when the event happened; the body adds the id.
    payload = models.JSONField()
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default="pending"
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            # Read by webhooks.sender.claim(): only deliveries still owed are indexed.
            models.Index(
                fields=["next_attempt_at"],
                name="webhookdelivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_endpoint_idx"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The log: one row per POST tried, whatever came of it."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        indexes = [models.Index(fields=["delivery", "-at"], name="webhookattempt_delivery_idx")]

    def __str__(self):
        return f"{self.delivery_id} {self.status_code or self.error[:40]}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
