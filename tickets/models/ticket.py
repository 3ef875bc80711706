"""The ticket, its queryset and the breach rule (the predicate and its SQL twin side by side)."""

import datetime
from typing import Self

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.tenancy import OrganizationScopedQuerySet

from ..search import search_tickets
from .choices import (
    ACTIVE_STATUSES,
    Channel,
    Feature,
    Priority,
    Status,
    format_reference,
    pk_from_reference,
)
from .indexes import LIST_INDEXES

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


class TicketQuerySet(OrganizationScopedQuerySet["Ticket"]):
    """visible_to(user) is the tenancy guard: portal, API, downloads and mail threading all
    start there."""

    def active(self) -> Self:
        return self.filter(status__in=ACTIVE_STATUSES)

    def by_reference(self, reference: str):
        pk = pk_from_reference(reference)
        return self.filter(pk=pk) if pk else self.none()

    def search(self, term: str, **options):
        """The one search of the portal, the API and the admin (see tickets.search)."""
        return search_tickets(self, term, **options)

    def breached(self, now: datetime.datetime, phase: str | None = None):
        """SQL twin of Ticket.breached: tickets that missed a deadline (one phase or either)."""
        return self.filter(breached_q(now, phase))

    def with_unread_for(self, user):
        """Annotate what the portal list's unread marker compares (Ticket.unread): the last
        public staff reply, the last public status change by staff, and when `user`
        last opened the ticket. Subqueries, so the list stays one query however long."""
        ticket = models.OuterRef("pk")
        # The records' models are defined on top of Ticket: looked up by name.
        Comment, TicketEvent, TicketView = (
            apps.get_model("tickets", name) for name in ("Comment", "TicketEvent", "TicketView")
        )
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


# A module-level name, so the type checker's Django plugin sees the queryset's methods.
_TicketManagerBase = models.Manager.from_queryset(TicketQuerySet)


class TicketManager(_TicketManagerBase):
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
