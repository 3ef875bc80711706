"""REST endpoints: GET/POST /api/v1/tickets/{reference}/watchers/, DELETE …/watchers/{id}/.

Both start from Ticket.objects.visible_to(user): another organization's ticket is a 404.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.models import Ticket

from . import services
from .models import Watcher


class WatcherSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Watcher
        fields = ["id", "email"]
        read_only_fields = fields


class WatcherInput(serializers.Serializer):
    # Optional here so that the service's own check answers {"email": [...]} for every path.
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


def visible_ticket(user, reference) -> Ticket:
    return get_object_or_404(Ticket.objects.visible_to(user).by_reference(reference))


class WatchersView(APIView):
    """The ticket's watchers; add one by email (a user of the ticket's organization)."""

    @extend_schema(responses=WatcherSerializer(many=True), operation_id="ticket_watchers")
    def get(self, request, reference):
        ticket = visible_ticket(request.user, reference)
        watchers = ticket.watchers.select_related("user")
        return Response(WatcherSerializer(watchers, many=True).data)

    @extend_schema(
        request=WatcherInput, responses={201: WatcherSerializer}, operation_id="ticket_watch"
    )
    def post(self, request, reference):
        ticket = visible_ticket(request.user, reference)
        data = WatcherInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data.get("email", "")
        watcher = services.add_watcher(ticket, email=email, actor=request.user)
        return Response(WatcherSerializer(watcher).data, status=status.HTTP_201_CREATED)


class WatcherView(APIView):
    @extend_schema(responses={204: None}, operation_id="ticket_unwatch")
    def delete(self, request, reference, pk):
        ticket = visible_ticket(request.user, reference)
        if not services.remove_watcher(ticket, pk):
            raise NotFound(_("No such watcher."))
        return Response(status=status.HTTP_204_NO_CONTENT)
