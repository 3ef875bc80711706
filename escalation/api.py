"""REST endpoints: GET /api/v1/tickets/{reference}/escalations/ and POST …/escalate/.

Both start from Ticket.objects.visible_to(user): another organization's ticket is a 404.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.serializers import ModelSerializer
from tickets.models import Ticket

from .models import EscalationEvent
from .services import request_escalation


class EscalationSerializer(ModelSerializer):
    contact = serializers.CharField(read_only=True, help_text="'Name <email>' of who was told.")

    class Meta:
        model = EscalationEvent
        fields = ["level", "role", "reason", "trigger", "phase", "fired_at", "contact"]
        read_only_fields = fields


class EscalatedSerializer(EscalationSerializer):
    escalation_level = serializers.IntegerField(source="ticket.escalation_level", read_only=True)
    ticket = serializers.CharField(source="ticket.reference", read_only=True)

    class Meta(EscalationSerializer.Meta):
        fields = [*EscalationSerializer.Meta.fields, "ticket", "escalation_level"]
        read_only_fields = fields


class EscalateInput(serializers.Serializer[None]):
    # Optional here so that the service's own check answers {"reason": [...]} for every path.
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)


def visible_ticket(user: AbstractBaseUser | AnonymousUser, reference: str) -> Ticket:
    ticket: Ticket = get_object_or_404(Ticket.objects.visible_to(user).by_reference(reference))
    return ticket


class TicketEscalationsView(APIView):
    """The ticket's escalations, oldest first. Clients never see the internal warnings."""

    @extend_schema(responses=EscalationSerializer(many=True), operation_id="ticket_escalations")
    def get(self, request: Request, reference: str) -> Response:
        ticket = visible_ticket(request.user, reference)
        events = ticket.escalations.seen_by(request.user)
        return Response(EscalationSerializer(events, many=True).data)


class EscalateView(APIView):
    """Move the ticket one level up (1 → 2 → 3) and notify that level's contact; 409 at 3."""

    @extend_schema(
        request=EscalateInput,
        responses={201: EscalatedSerializer},
        operation_id="ticket_escalate",
    )
    def post(self, request: Request, reference: str) -> Response:
        ticket = visible_ticket(request.user, reference)
        data = EscalateInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # the API authenticates every request
        event = request_escalation(ticket, user, data.validated_data.get("reason", ""))
        event.ticket.refresh_from_db(fields=["escalation_level"])
        return Response(EscalatedSerializer(event).data, status=status.HTTP_201_CREATED)
