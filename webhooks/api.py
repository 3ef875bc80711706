"""/api/v1/webhooks/: staff register, read, change and remove endpoints. The secret is
write-only: it signs every body and is never shown again."""

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action

from core.serializers import LenientChoiceField, ModelSerializer

from . import guard
from .models import EVENTS, Format, WebhookDelivery, WebhookEndpoint


class IsStaff(permissions.BasePermission):
    """Endpoints are the vendor's integrations: clients may not list or create them."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class WebhookEndpointSerializer(ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS),
        allow_empty=False,
        max_length=50,
        help_text=format_lazy("{} {}", _("Events to receive, among:"), ", ".join(EVENTS)),
    )
    secret = serializers.CharField(
        write_only=True,
        max_length=255,
        trim_whitespace=False,
        help_text=_("Key of the X-EService-Signature HMAC; never returned."),
    )
    format = LenientChoiceField(choices=Format.choices, required=False)
    state = serializers.CharField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "secret",
            "format",
            "active",
            "state",
            "failing_since",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "state", "failing_since", "created_by", "created_at"]

    def validate_url(self, value):
        try:
            guard.check_url(value)
        except guard.Refused as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_events(self, value):
        # Stored once each, in the documented order.
        return [event for event in EVENTS if event in value]


class WebhookDeliverySerializer(ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsStaff]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["active", "format"]
    ordering_fields = ["id", "created_at"]
    queryset = WebhookEndpoint.objects.select_related("created_by").order_by("id")

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    @extend_schema(responses=WebhookDeliverySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_fields=None)
    def deliveries(self, request, pk=None):
        """The endpoint's deliveries, newest first: what was sent, what is owed, what failed."""
        endpoint = self.get_object()
        rows = endpoint.deliveries.defer("payload").order_by("-created_at")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
