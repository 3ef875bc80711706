import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

REFERENCE_RE = re.compile(r"^CS-(\d{1,12})$", re.IGNORECASE)


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)


class Priority(models.TextChoices):
    P0 = "P0", _("P0 — Critical")
    P1 = "P1", _("P1 — High")
    P2 = "P2", _("P2 — Normal")
    P3 = "P3", _("P3 — Low")


class Feature(models.TextChoices):
    SESSION_REPLAY = "session_replay", _("Session Replay")
    HEATMAPS = "heatmaps", _("Heatmaps")
    ZONING = "zoning", _("Zoning")
    WORKSPACE = "workspace", _("Workspace")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    PHONE = "phone", _("Phone")


def pk_from_reference(reference: str) -> int | None:
    match = REFERENCE_RE.match((reference or "").strip())
    return int(match.group(1)) if match else None


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one tenancy guard: portal, API, downloads and mail threading all start here."""
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        if user.organization_id is None:
            return self.none()
        return self.filter(organization_id=user.organization_id)

    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def by_reference(self, reference: str):
        pk = pk_from_reference(reference)
        return self.filter(pk=pk) if pk else self.none()

    def with_unread_for(self, user):
        """Annotate what the portal list's unread marker compares (Ticket.unread): the last
        public staff reply, the last public status change by staff, and when `user`
        last opened the ticket. Subqueries, so the list stays one query however long."""
        ticket = models.OuterRef("pk")
        replies = Comment.objects.filter(ticket=ticket, internal=False, author__is_staff=True)
        moves = TicketEvent.objects.filter(ticket=ticket, field="status", public=True).filter(
            Q(actor__isnull=True) | Q(actor__is_staff=True)  # staff, or the system (sweeps)
        )
        seen = TicketView.objects.filter(ticket=ticket, user_id=user.pk)
        return self.annotate(
            last_staff_reply_at=models.Subquery(
                replies.order_by("-created_at").values("created_at")[:1]
            ),
            last_status_change_at=models.Subquery(moves.order_by("-at").values("at")[:1]),
            last_viewed_at=models.Subquery(seen.values("viewed_at")[:1]),
        )


class Ticket(models.Model):
    subject = models.CharField(max_length=200)
    description = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    suggested_priority = models.CharField(
        max_length=2, choices=Priority.choices, null=True, blank=True
    )
    feature = models.CharField(max_length=20, choices=Feature.choices, default=Feature.OTHER)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="tickets"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        limit_choices_to={"is_staff": True},
    )
    follows = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="followers"
    )
    received_at = models.DateTimeField()
    triaged_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    excluded = models.BooleanField(default=False)
    exclusion_reason = models.TextField(blank=True)

    # SLA state, computed by the sla app and stored so lists and the sweep can index it.
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    response_clock = models.CharField(max_length=10, blank=True)
    resolution_clock = models.CharField(max_length=10, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.BigIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="ticket_received_idx"),
            models.Index(
                fields=["organization", "-received_at", "-id"], name="ticket_org_received_idx"
            ),
            models.Index(fields=["status", "-received_at"], name="ticket_status_idx"),
            # Read by escalation.sweep: only active tickets with a pending check are indexed.
            models.Index(
                fields=["next_check_at"],
                name="ticket_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_level__lte=3), name="ticket_escalation_level_max_3"
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return f"CS-{self.pk:06d}" if self.pk else "CS-new"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def region(self) -> str | None:
        return self.organization.region

    @property
    def unread(self) -> bool:
        """Staff activity since the reader last looked (needs with_unread_for())."""
        moments = [
            getattr(self, "last_staff_reply_at", None),
            getattr(self, "last_status_change_at", None),
        ]
        latest = max((m for m in moments if m is not None), default=None)
        if latest is None:
            return False
        seen = getattr(self, "last_viewed_at", None)
        return seen is None or latest > seen

    @property
    def response_breached(self) -> bool:
        return _breached(self.response_due_at, self.first_response_at, self)

    @property
    def resolution_breached(self) -> bool:
        return _breached(self.resolution_due_at, self.resolved_at, self)


def _breached(due, done, ticket) -> bool:
    """Late if done after the deadline, or not done and the deadline has passed."""
    if ticket.excluded or due is None:
        return False
    return (done or timezone.now()) > due


class CommentQuerySet(models.QuerySet):
    def visible_to(self, user):
        qs = self.filter(ticket__in=Ticket.objects.visible_to(user))
        return qs if user.is_staff else qs.filter(internal=False)

    def public(self):
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

    def __str__(self):
        kind = "note" if self.internal else "reply"
        return f"{kind} on {self.ticket.reference}"

    @property
    def by_staff(self) -> bool:
        return bool(self.author and self.author.is_staff)


INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def attachment_path(instance, filename):
    return f"attachments/{instance.ticket_id}/{filename}"


class AttachmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        qs = self.filter(ticket__in=Ticket.objects.visible_to(user))
        return qs if user.is_staff else qs.filter(internal=False)


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
