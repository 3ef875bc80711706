import datetime
import re

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The one reference format: portal, API, admin, mail subjects and PDFs all go through these.
REFERENCE_RE = re.compile(r"CS-(\d{1,12})", re.IGNORECASE)


def format_reference(pk: int | None) -> str:
    return f"CS-{pk:06d}" if pk else "CS-new"


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
    match = REFERENCE_RE.fullmatch((reference or "").strip())
    return int(match.group(1)) if match else None


# A clock runs on an active, covered ticket that does not wait on a pause.
RUNNING = Q(
    status__in=[status.value for status in ACTIVE_STATUSES], excluded=False, paused_since=None
)


def next_due() -> Case:
    """The deadline running now: response until the first response, then resolution.

    None when no clock runs (resolved, excluded, paused, no target). The desk sorts on it
    (tickets.desk) through ticket_next_due_idx, which indexes this very expression.
    """
    return Case(
        When(RUNNING & Q(first_response_at__isnull=True), then=F("response_due_at")),
        When(RUNNING, then=F("resolution_due_at")),
        default=Value(None),
        output_field=models.DateTimeField(),
    )


PHASES = ("response", "resolution")


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

    def search(self, term: str, **options):
        """The one search of the portal, the API and the admin (see tickets.search)."""
        from .search import search_tickets  # search builds on this module's models

        return search_tickets(self, term, **options)

    def breached(self, now: datetime.datetime, phase: str | None = None):
        """SQL twin of Ticket.breached: tickets that missed a deadline (one phase or either)."""
        return self.filter(breached_q(now, phase))

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


def breached_q(now: datetime.datetime, phase: str | None = None) -> Q:
    late = Q()
    for name in [phase] if phase else PHASES:
        late |= _breached_q(name, now)
    return Q(excluded=False) & late


def _breached_q(phase: str, now: datetime.datetime) -> Q:
    """Ticket.breached(phase, now) as SQL; keep the two side by side."""
    due, done = f"{phase}_due_at", DONE_FIELD[phase]
    finished = Q(**{f"{done}__isnull": False, f"{done}__gt": models.F(due)})
    running = Q(**{f"{done}__isnull": True, f"{due}__lt": now})
    if phase == "response":
        return finished | running
    paused = Q(paused_since__isnull=False, paused_since__gt=models.F(due))
    running &= Q(paused_since=None)
    return finished | (Q(**{f"{done}__isnull": True}) & paused) | running


DONE_FIELD = {"response": "first_response_at", "resolution": "resolved_at"}


OPEN = Q(status__in=ACTIVE_STATUSES)

# One index per list the portal, the API and the admin offer (bench_lists prints the plans).
# Orderings end on the id, so each index ends on it too and serves both directions.
LIST_INDEXES = [
    # Everything newest first (admin, API, staff portal); per organization (client portal).
    models.Index(fields=["-received_at", "-id"], name="ticket_received_idx"),
    models.Index(fields=["organization", "-received_at", "-id"], name="ticket_org_received_idx"),
    # Filters on one column, still newest first: admin and API status/priority/assignee.
    models.Index(fields=["status", "-received_at", "-id"], name="ticket_status_recv_idx"),
    models.Index(fields=["priority", "-received_at", "-id"], name="ticket_prio_recv_idx"),
    models.Index(fields=["assignee", "-received_at", "-id"], name="ticket_assignee_recv_idx"),
    models.Index(fields=["channel", "-received_at", "-id"], name="ticket_channel_recv_idx"),
    models.Index(fields=["feature", "-received_at", "-id"], name="ticket_feature_recv_idx"),
    models.Index(
        fields=["-received_at", "-id"], name="ticket_excluded_recv_idx", condition=Q(excluded=True)
    ),
    # API ?ordering= and the admin's sortable columns.
    models.Index(fields=["response_due_at", "id"], name="ticket_response_due_idx"),
    models.Index(fields=["resolution_due_at", "id"], name="ticket_resolution_due_idx"),
    models.Index(fields=["priority", "id"], name="ticket_priority_idx"),
    # Open tickets only (the portal's default view, the desk's open queue, SLA filters).
    models.Index(fields=["-received_at", "-id"], name="ticket_open_recv_idx", condition=OPEN),
    models.Index(
        fields=["organization", "-received_at", "-id"], name="ticket_open_org_idx", condition=OPEN
    ),
    models.Index(fields=["response_due_at", "id"], name="ticket_open_resp_idx", condition=OPEN),
    models.Index(fields=["resolution_due_at", "id"], name="ticket_open_resol_idx", condition=OPEN),
    models.Index(
        fields=["priority", "-received_at", "-id"], name="ticket_open_prio_idx", condition=OPEN
    ),
    models.Index(
        fields=["assignee", "-received_at", "-id"], name="ticket_open_assignee_idx", condition=OPEN
    ),
    # Search (tickets.search): the full-text document and trigrams of the subject.
    GinIndex(fields=["search_vector"], name="ticket_search_idx"),
    GinIndex(fields=["subject"], opclasses=["gin_trgm_ops"], name="ticket_subject_trgm_idx"),
]


class TicketManager(models.Manager.from_queryset(TicketQuerySet)):
    def get_queryset(self):
        return super().get_queryset().defer("search_vector")


class Ticket(models.Model):
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=2, choices=Priority.choices, default=Priority.P2
    )
    suggested_priority = models.CharField(
        _("suggested priority"), max_length=2, choices=Priority.choices, null=True, blank=True
    )
    feature = models.CharField(
        _("feature"), max_length=20, choices=Feature.choices, default=Feature.OTHER
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("organization"),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_tickets",
        verbose_name=_("requester"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
        limit_choices_to={"is_staff": True},
    )
    follows = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="followers"
    )
    received_at = models.DateTimeField(_("received at"))
    triaged_at = models.DateTimeField(_("triaged at"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution note"), blank=True)
    user_agent = models.CharField(_("browser"), max_length=500, blank=True)
    excluded = models.BooleanField(_("excluded from the SLA"), default=False)
    exclusion_reason = models.TextField(_("exclusion reason"), blank=True)

    # SLA state, computed by the sla app and stored so lists and the sweep can index it.
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    response_clock = models.CharField(max_length=10, blank=True)
    resolution_clock = models.CharField(max_length=10, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.BigIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Reference, subject, description and public comments, kept by database triggers created
    # in migration 0007_ticket_search (tickets.search has the SQL); NULL on SQLite. Never
    # loaded with the row: the manager defers it.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = TicketManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        base_manager_name = "objects"  # related lookups (comment.ticket) defer the vector too
        indexes = [
            *LIST_INDEXES,
            # The desk's default order, most urgent first (tickets.desk.most_urgent_first).
            # Ascending order puts NULLs last on PostgreSQL already; SQLite refuses an
            # explicit NULLS LAST in an index.
            models.Index(next_due(), F("received_at"), name="ticket_next_due_idx"),
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
        return format_reference(self.pk)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def region(self) -> str | None:
        return self.organization.region

    def breached(self, phase: str, now: datetime.datetime) -> bool:
        """The one breach rule; TicketQuerySet.breached is its SQL twin.

        A phase (response or resolution) is breached when it ended after its deadline, or
        is still running past it. A pause (pending customer) stops the resolution clock, so
        a paused ticket is breached only if it was already late when the pause began.
        Excluded tickets and phases without a deadline are never breached.
        """
        due = getattr(self, f"{phase}_due_at")
        if self.excluded or due is None:
            return False
        done = getattr(self, DONE_FIELD[phase])
        if done is None and phase == "resolution" and self.paused_since is not None:
            done = self.paused_since
        return (done or now) > due

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
        return self.breached("response", timezone.now())

    @property
    def resolution_breached(self) -> bool:
        return self.breached("resolution", timezone.now())


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
