"""Ticket endpoints. Tenancy first (visible_to → 404), then role (403), then tickets.services."""

from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from accounts.models import Organization
from core.api import KeysetPagination

from .. import limits, services
from ..models import Attachment, Channel, Comment, Ticket
from . import serializers as s
from .filters import TicketFilter, TicketOrdering

REFERENCE = OpenApiParameter(
    "reference", str, OpenApiParameter.PATH, description="Ticket reference, e.g. CS-000123."
)


class IsStaffForObject(permissions.BasePermission):
    """Checked after the ticket is found, so another organization's ticket is still a 404."""

    message = _("Only support staff can do this.")

    def has_object_permission(self, request, view, obj):
        return request.user.is_staff


BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
STAFF_ACTION = [permissions.IsAuthenticated, IsStaffForObject]


def _ticket_response(serializer_class, **schema):
    return extend_schema(request=serializer_class, responses=s.TicketDetailSerializer, **schema)


class TicketViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Client: its organization's tickets. Staff: every ticket."""

    lookup_field = "reference"
    lookup_value_regex = r"[^/]+"
    serializer_class = s.TicketSerializer
    filter_backends = [DjangoFilterBackend, TicketOrdering]
    filterset_class = TicketFilter
    ordering_fields = ["received_at", "priority", "response_due_at", "resolution_due_at"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    pagination_class = KeysetPagination

    def get_queryset(self):
        qs = Ticket.objects.visible_to(self.request.user).select_related(
            "organization", "reporter", "assignee"
        )
        if self.action not in ("list", "comments"):
            qs = qs.prefetch_related("attachments")
        return qs

    def get_object(self):
        ticket = self.get_queryset().by_reference(self.kwargs["reference"]).first()
        if ticket is None:
            raise NotFound(_("No such ticket."))
        self.check_object_permissions(self.request, ticket)
        return ticket

    def get_serializer_class(self):
        return s.TicketSerializer if self.action == "list" else s.TicketDetailSerializer

    def _respond(self, ticket, loaded, status_code=status.HTTP_200_OK):
        """The ticket as the verb left it (its row as written under the lock), with the people
        and files get_object() read for it: a verb changes no attachment and names no other
        organization or reporter, so only a new assignee is read again."""
        for name in ("organization", "reporter", "assignee"):
            field = Ticket._meta.get_field(name)
            same = getattr(ticket, field.attname) == getattr(loaded, field.attname)
            if same and field.is_cached(loaded):
                field.set_cached_value(ticket, field.get_cached_value(loaded))
        ticket._prefetched_objects_cache = dict(getattr(loaded, "_prefetched_objects_cache", {}))
        return Response(self.get_serializer(ticket).data, status=status_code)

    @extend_schema(parameters=[REFERENCE])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request={
            "application/json": s.TicketCreateSerializer,
            "multipart/form-data": s.TicketCreateSerializer,
        },
        responses={201: s.TicketDetailSerializer},
    )
    def create(self, request, *args, **kwargs):
        data = s.TicketCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        limits.check_new_ticket(request.user)
        intake = self._intake(data.validated_data)
        ticket = services.open_ticket(**intake, actor=request.user)
        if intake["files"]:
            prefetch_related_objects([ticket], "attachments")
            body = self.get_serializer(ticket).data
        else:
            # Nothing was attached: spare the hot path the related lookup that must be empty.
            body = {**s.TicketSerializer(ticket, context=self.get_serializer_context()).data}
            body["attachments"] = []
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    def _intake(self, values) -> dict:
        user = self.request.user
        intake = {
            "subject": values["subject"],
            "description": values["description"],
            "priority": values.get("priority"),
            "feature": values.get("feature"),
            "files": values.get("attachments", []),
            "user_agent": self.request.headers.get("User-Agent", ""),
        }
        if user.is_staff:
            intake.update(
                organization=values["organization"],
                reporter=values.get("reporter"),
                channel=values.get("channel", Channel.API),
                received_at=values.get("received_at"),
            )
        else:
            intake.update(organization=self._own_organization(), reporter=user, channel=Channel.API)
        return intake

    def _own_organization(self):
        user = self.request.user
        if "organization" in user._state.fields_cache:
            return user.organization  # loaded with the token (accounts.authentication)
        # One query brings the contract and plan the SLA engine reads while opening.
        qs = Organization.objects.select_related("contract__plan")
        return qs.get(pk=user.organization_id)

    @_ticket_response(s.TriageSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def triage(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.TriageSerializer)
        return self._respond(services.triage(ticket, actor=request.user, **data), ticket)

    @_ticket_response(s.StartSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def start(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.StartSerializer)
        return self._respond(services.start_diagnosis(ticket, actor=request.user, **data), ticket)

    @_ticket_response(s.ResolveSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def resolve(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.ResolveSerializer)
        return self._respond(services.resolve(ticket, actor=request.user, **data), ticket)

    @_ticket_response(s.AssignSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def assign(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.AssignSerializer)
        return self._respond(services.assign(ticket, actor=request.user, **data), ticket)

    @_ticket_response(s.ExcludeSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"], permission_classes=STAFF_ACTION)
    def exclude(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.ExcludeSerializer)
        return self._respond(services.set_exclusion(ticket, actor=request.user, **data), ticket)

    @_ticket_response(s.ReopenSerializer, parameters=[REFERENCE])
    @action(detail=True, methods=["post"])
    def reopen(self, request, reference=None):
        ticket = self.get_object()
        data = self._valid(s.ReopenSerializer)
        return self._respond(services.reopen(ticket, actor=request.user, **data), ticket)

    def _valid(self, serializer_class) -> dict:
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data.validated_data

    @extend_schema(
        methods=["GET"],
        parameters=[REFERENCE],
        request=None,
        responses=s.CommentSerializer(many=True),
        description="Public replies for a client; staff also see internal notes.",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[REFERENCE],
        request={
            "application/json": s.CommentCreateSerializer,
            "multipart/form-data": s.CommentCreateSerializer,
        },
        responses={201: s.CommentSerializer},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[], pagination_class=None)
    def comments(self, request, reference=None):
        ticket = self.get_object()
        if request.method == "POST":
            return self._add_comment(ticket)
        user = request.user
        comments = (
            Comment.objects.visible_to(user)
            .filter(ticket=ticket)
            .select_related("author")
            .prefetch_related(Prefetch("attachments", Attachment.objects.visible_to(user)))
        )
        context = self.get_serializer_context()
        return Response(s.CommentSerializer(comments, many=True, context=context).data)

    def _add_comment(self, ticket):
        data = self._valid(s.CommentCreateSerializer)
        comment = services.add_comment(
            ticket,
            author=self.request.user,
            body=data["body"],
            internal=data["internal"],
            channel=Channel.API,
            files=data.get("attachments", []),
        )
        prefetch_related_objects([comment], "attachments")
        body = s.CommentSerializer(comment, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED)


class BinaryRenderer(BaseRenderer):
    """Lets `Accept: application/octet-stream` reach the download; errors still render JSON."""

    media_type = "application/octet-stream"
    format = "bin"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class AttachmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Files on tickets the caller can see; internal ones (on notes) for staff only."""

    serializer_class = s.AttachmentSerializer
    filter_backends = []

    def get_queryset(self):
        return Attachment.objects.visible_to(self.request.user)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)}
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, BinaryRenderer])
    def download(self, request, pk=None):
        attachment = self.get_object()
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise NotFound(_("This file is no longer stored.")) from None
        return FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.filename,
            content_type=attachment.content_type or "application/octet-stream",
        )
