"""Ticket, comment and attachment representations. They validate shape; services own the rules."""

import datetime

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Organization, User
from core.errors import ServiceError
from core.serializers import (
    AwareDateTimeField,
    FreshFieldsMixin,
    LenientChoiceField,
    ModelSerializer,
)

from .. import services
from ..models import Attachment, Channel, Comment, Feature, Priority, Ticket

# Nothing is logged before the Unix epoch; earlier times would overflow deadline arithmetic.
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class PastDateTimeField(AwareDateTimeField):
    default_error_messages = {
        "future": _("This time is in the future."),
        "too_old": _("This time is too far in the past."),
    }

    def to_internal_value(self, value):
        at = super().to_internal_value(value)
        if at > timezone.now() + datetime.timedelta(seconds=1):
            self.fail("future")
        if at < EARLIEST:
            self.fail("too_old")
        return at


class AttachmentSerializer(ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "size", "content_type", "download_url"]

    def get_download_url(self, attachment) -> str:
        path = reverse("attachment-download", args=[attachment.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


# One "PriorityEnum" component in the schema: a second field on the same choices would
# otherwise make drf-spectacular invent a second name for them.
NULLABLE_PRIORITY = {"type": "string", "enum": Priority.values, "nullable": True}


@extend_schema_field(NULLABLE_PRIORITY)
class NullablePriorityField(serializers.CharField):
    pass


class TicketSerializer(ModelSerializer):
    """The list and detail shape (SPEC section 6 names every field before the extras)."""

    suggested_priority = NullablePriorityField(read_only=True, allow_null=True)
    reference = serializers.CharField(read_only=True)
    response_breached = serializers.BooleanField(read_only=True)
    resolution_breached = serializers.BooleanField(read_only=True)
    organization = serializers.IntegerField(source="organization_id", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    reporter = serializers.CharField(
        source="reporter.username", read_only=True, default=None, allow_null=True
    )
    assignee = serializers.IntegerField(source="assignee_id", read_only=True, allow_null=True)
    assignee_username = serializers.CharField(
        source="assignee.username", read_only=True, default=None, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "subject",
            "description",
            "status",
            "priority",
            "suggested_priority",
            "organization",
            "channel",
            "received_at",
            "first_response_at",
            "resolved_at",
            "response_due_at",
            "resolution_due_at",
            "response_breached",
            "resolution_breached",
            "escalation_level",
            "excluded",
            "exclusion_reason",
            "feature",
            "organization_name",
            "reporter",
            "assignee",
            "assignee_username",
            "triaged_at",
            "resolution",
            "created_at",
            "updated_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, ticket) -> str:
        path = detail_path(ticket.reference)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def to_representation(self, t):
        # Written out by hand: DRF's generic path builds and deep-copies the 28 field objects
        # on every call, a fifth of the cost of creating a ticket. The declared fields above
        # still describe the schema; test_api_tickets checks the two agree.
        return {
            "reference": t.reference,
            "subject": t.subject,
            "description": t.description,
            "status": t.status,
            "priority": t.priority,
            "suggested_priority": t.suggested_priority,
            "organization": t.organization_id,
            "channel": t.channel,
            "received_at": _iso(t.received_at),
            "first_response_at": _iso(t.first_response_at),
            "resolved_at": _iso(t.resolved_at),
            "response_due_at": _iso(t.response_due_at),
            "resolution_due_at": _iso(t.resolution_due_at),
            "response_breached": t.response_breached,
            "resolution_breached": t.resolution_breached,
            "escalation_level": t.escalation_level,
            "excluded": t.excluded,
            "exclusion_reason": t.exclusion_reason,
            "feature": t.feature,
            "organization_name": t.organization.name,
            "reporter": t.reporter.username if t.reporter_id else None,
            "assignee": t.assignee_id,
            "assignee_username": t.assignee.username if t.assignee_id else None,
            "triaged_at": _iso(t.triaged_at),
            "resolution": t.resolution,
            "created_at": _iso(t.created_at),
            "updated_at": _iso(t.updated_at),
            "url": self.get_url(t),
        }


# (script prefix, urlconf) -> the detail path with REFERENCE_MARK for the reference.
_DETAIL_PATHS: dict = {}
REFERENCE_MARK = "CS-REFERENCE"


def detail_path(reference: str) -> str:
    """reverse("ticket-detail", args=[reference]), resolved once per script prefix and
    urlconf: a reference (CS- and digits) needs no quoting, and resolving on every ticket
    cost as much as writing out the rest of its representation."""
    key = (get_script_prefix(), get_urlconf())
    template = _DETAIL_PATHS.get(key)
    if template is None:
        template = _DETAIL_PATHS[key] = reverse("ticket-detail", args=[REFERENCE_MARK])
    return template.replace(REFERENCE_MARK, reference, 1)


def _iso(value):
    return value.astimezone(datetime.UTC).isoformat() if value else None


class TicketDetailSerializer(TicketSerializer):
    """Adds the files attached at intake (comment files come with their comment)."""

    attachments = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "attachments"]
        read_only_fields = fields

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, ticket):
        files = [a for a in ticket.attachments.all() if a.comment_id is None and not a.internal]
        return AttachmentSerializer(files, many=True, context=self.context).data if files else []

    def to_representation(self, ticket):
        return {**super().to_representation(ticket), "attachments": self.get_attachments(ticket)}


def _files_field():
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        write_only=True,
        help_text=_("Files sent as multipart/form-data, repeated under this name."),
    )


STAFF_ONLY_FIELDS = ("organization", "channel", "received_at", "reporter")


class TicketCreateSerializer(FreshFieldsMixin, serializers.Serializer):
    """Intake. Staff log calls for any organization; a client files for its own."""

    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=50_000)
    priority = LenientChoiceField(choices=Priority.choices, required=False)
    feature = LenientChoiceField(choices=Feature.choices, required=False)
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.select_related("contract__plan"),
        required=False,
        help_text=_("Staff only, and required for staff."),
    )
    channel = LenientChoiceField(
        choices=Channel.choices, required=False, help_text=_("Staff only; default 'api'.")
    )
    received_at = PastDateTimeField(
        required=False, help_text=_("Staff only: when the call came in (past, with offset).")
    )
    reporter = serializers.CharField(
        required=False,
        max_length=254,
        help_text=_("Staff only: the client who called (email, or username), of the organization."),
    )
    attachments = _files_field()

    def validate(self, attrs):
        user = self.context["request"].user
        if user.is_staff:
            return self._validate_for_staff(attrs)
        for name in STAFF_ONLY_FIELDS:
            if name in self.initial_data:
                raise serializers.ValidationError({name: [_("Only support staff can set this.")]})
        return attrs

    def _validate_for_staff(self, attrs):
        org = attrs.get("organization")
        if org is None:
            raise serializers.ValidationError(
                {"organization": [_("Staff must say which organization the ticket is for.")]}
            )
        if attrs.get("reporter"):
            try:
                attrs["reporter"] = services.find_reporter(org, attrs["reporter"])
            except ServiceError as error:
                raise serializers.ValidationError(error.as_dict()) from None
        else:
            attrs.pop("reporter", None)
        return attrs


class CommentSerializer(ModelSerializer):
    author = serializers.CharField(
        source="author.username", read_only=True, default=None, allow_null=True
    )
    author_role = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "body", "internal", "author", "author_role", "created_at", "attachments"]
        read_only_fields = fields

    def get_author_role(self, comment) -> str | None:
        return comment.author.role if comment.author else None


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=50_000, allow_blank=True, required=False, default="")
    internal = serializers.BooleanField(required=False, default=False)
    attachments = _files_field()

    def validate_internal(self, value):
        if value and not self.context["request"].user.is_staff:
            raise serializers.ValidationError(_("Only support staff can write internal notes."))
        return value


class TriageSerializer(serializers.Serializer):
    priority = LenientChoiceField(choices=Priority.choices)


class StartSerializer(serializers.Serializer):
    at = PastDateTimeField(required=False, help_text=_("Past, with offset; default now."))


class ResolveSerializer(serializers.Serializer):
    at = PastDateTimeField(required=False, help_text=_("Past, with offset; default now."))
    resolution = serializers.CharField(max_length=50_000, required=False, allow_blank=True)


class AssignSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_staff=True, is_active=True), allow_null=True
    )


class ExcludeSerializer(serializers.Serializer):
    excluded = serializers.BooleanField()
    reason = serializers.CharField(max_length=5_000, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5_000, required=False, allow_blank=True, default="")
