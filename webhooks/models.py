"""Endpoints staff register, the deliveries owed to them (an outbox) and every attempt made."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
    HEALTHY = "healthy", pgettext_lazy("webhooks", "Healthy")
    FAILING = "failing", pgettext_lazy("webhooks", "Failing")
    INACTIVE = "inactive", pgettext_lazy("webhooks", "Inactive")


class WebhookEndpoint(models.Model):
    url = models.URLField(pgettext_lazy("webhooks", "URL"), max_length=500)
    events = models.JSONField(
        pgettext_lazy("webhooks", "events"), default=list, validators=[validate_events]
    )
    # The HMAC key: it must be readable to sign each body, so it is stored; the API never
    # returns it and the admin never displays it.
    secret = models.CharField(pgettext_lazy("webhooks", "secret"), max_length=255)
    format = models.CharField(
        pgettext_lazy("webhooks", "format"), max_length=10, choices=Format.choices, default="json"
    )
    active = models.BooleanField(pgettext_lazy("webhooks", "active"), default=True)
    failing_since = models.DateTimeField(
        pgettext_lazy("webhooks", "failing since"),
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
        verbose_name = pgettext_lazy("webhooks", "webhook endpoint")
        verbose_name_plural = pgettext_lazy("webhooks", "webhook endpoints")

    def __str__(self):
        return self.url

    @property
    def state(self) -> str:
        if not self.active:
            return EndpointState.INACTIVE
        return EndpointState.FAILING if self.failing_since else EndpointState.HEALTHY


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhooks", "Pending")
    SENT = "sent", pgettext_lazy("webhooks", "Sent")
    FAILED = "failed", pgettext_lazy("webhooks", "Failed")


class PayloadField(models.JSONField):
    """JSON kept off bulk_create's UNNEST strategy on PostgreSQL (Django skips it for a field
    with its own placeholder): encoding a document of a few kilobytes as a text array element
    escapes every quote with a regular expression, ~1 ms per row in bench_webhooks."""

    def get_placeholder(self, value, compiler, connection):
        return "%s"


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
    event = models.CharField(pgettext_lazy("webhooks", "event"), max_length=40)
    # {event, created_at, data}, frozen when the event happened; the body adds the id.
    payload = PayloadField()
    status = models.CharField(
        pgettext_lazy("webhooks", "status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default="pending",
    )
    attempts = models.PositiveIntegerField(pgettext_lazy("webhooks", "attempts"), default=0)
    next_attempt_at = models.DateTimeField(
        pgettext_lazy("webhooks", "next attempt"), null=True, blank=True
    )
    last_status_code = models.PositiveSmallIntegerField(
        pgettext_lazy("webhooks", "last status"), null=True, blank=True
    )
    last_error = models.TextField(pgettext_lazy("webhooks", "last error"), blank=True)
    created_at = models.DateTimeField(pgettext_lazy("webhooks", "created"))
    sent_at = models.DateTimeField(pgettext_lazy("webhooks", "sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = pgettext_lazy("webhooks", "webhook delivery")
        verbose_name_plural = pgettext_lazy("webhooks", "webhook deliveries")
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
    at = models.DateTimeField(pgettext_lazy("webhooks", "at"))
    status_code = models.PositiveSmallIntegerField(
        pgettext_lazy("webhooks", "status code"), null=True, blank=True
    )
    latency_ms = models.PositiveIntegerField(pgettext_lazy("webhooks", "latency (ms)"), default=0)
    error = models.TextField(pgettext_lazy("webhooks", "error"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = pgettext_lazy("webhooks", "webhook attempt")
        verbose_name_plural = pgettext_lazy("webhooks", "webhook attempts")
        indexes = [models.Index(fields=["delivery", "-at"], name="webhookattempt_delivery_idx")]

    def __str__(self):
        return f"{self.delivery_id} {self.status_code or self.error[:40]}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
