"""REST API: incidents, monthly availability and service credits (SPEC section 6)."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from accounts.models import Organization, User
from core.errors import ServiceError
from core.serializers import AwareDateTimeField, ModelSerializer
from tickets.api.filters import AwareIsoDateTimeFilter
from tickets.models import format_reference

from . import services
from .credits import Decision
from .models import CreditStatus, Incident, ServiceCredit


def request_user(request: Request) -> User:
    """The signed-in user of a request every permission here has authenticated."""
    user = request.user
    assert isinstance(user, User)
    return user


class StaffWritesAuthenticatedReads(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or user.is_staff


class IncidentSerializer(ModelSerializer):
    ended_at = AwareDateTimeField(required=False, allow_null=True)
    organizations = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Organization.objects.all()
    )
    ongoing = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = Incident
        fields = ["id", "started_at", "ended_at", "summary", "organizations", "ongoing"]

    def to_representation(self, instance: Incident) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        request = self.context.get("request")
        if not (request and getattr(request.user, "is_staff", False)):
            # Clients never learn which other organizations an incident touched.
            data.pop("organizations", None)
        return data


# django-filter ships no type information: FilterSet is Any to the type checker.
class IncidentFilter(django_filters.FilterSet):  # type: ignore[misc]
    """Bounds carry an offset; one that no clock has (+16:29) is a 400, never a 500."""

    started_at__gte = AwareIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_at__lt = AwareIsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    ended_at__isnull = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull")

    class Meta:
        model = Incident
        fields: list[str] = []


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Incident],
):
    """Outages. Staff record and edit them (each edit is a revision); everyone reads those
    affecting them: clients see all-organization incidents plus those restricted to theirs."""

    serializer_class = IncidentSerializer
    permission_classes = [StaffWritesAuthenticatedReads]
    filterset_class = IncidentFilter
    ordering_fields = ["started_at", "ended_at"]

    queryset = Incident.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[Incident]:
        qs = Incident.objects.prefetch_related("organizations")
        if getattr(self, "swagger_fake_view", False):
            return qs
        user = request_user(self.request)
        return qs if user.is_staff else qs.affecting(user.organization_id)

    def perform_create(self, serializer: BaseSerializer[Incident]) -> None:
        data = serializer.validated_data
        serializer.instance = services.record_incident(
            actor=request_user(self.request),
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
            summary=data.get("summary", ""),
            organizations=data.get("organizations", ()),
        )

    def perform_update(self, serializer: BaseSerializer[Incident]) -> None:
        data = dict(serializer.validated_data)
        organizations = data.pop("organizations", None)
        incident = serializer.instance
        assert incident is not None  # an update has its instance
        serializer.instance = services.update_incident(
            incident,
            actor=request_user(self.request),
            organizations=organizations,
            **data,
        )


AVAILABILITY_BODY = inline_serializer(
    "Availability",
    {
        "month": serializers.CharField(),
        "availability_percent": serializers.FloatField(),
        "downtime_minutes": serializers.FloatField(),
        "eligible_minutes": serializers.FloatField(),
        "excluded_minutes": serializers.FloatField(),
        "target_percent": serializers.FloatField(),
        "credits": serializers.IntegerField(),
    },
)


class AvailabilityView(APIView):
    """A month's availability (UTC calendar month).

    Clients get their organization's figure. Staff pass `organization=<id>`; without it they
    get the global figure (incidents affecting every organization, global exclusions only).
    The current month is measured up to now; a future month is a 400.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter("month", str, required=True, description="YYYY-MM"),
            OpenApiParameter("organization", int, description="staff only"),
        ],
        responses=AVAILABILITY_BODY,
    )
    def get(self, request: Request) -> Response:
        month = services.parse_month(request.query_params.get("month"))
        return Response(services.availability_report(self._organization(request), month))

    def _organization(self, request: Request) -> Organization | None:
        user = request_user(request)
        if not user.is_staff:
            if user.organization_id is None:
                raise ServiceError(_("Your account is not linked to an organization."))
            return user.organization
        raw = request.query_params.get("organization")
        if raw in (None, ""):
            return None
        if not str(raw).isdigit():
            raise ServiceError(_("Give an organization id."), field="organization")
        return get_object_or_404(Organization, pk=int(raw))


class CreditSerializer(ModelSerializer):
    ticket = serializers.SerializerMethodField()
    month = serializers.SerializerMethodField()

    class Meta:
        model = ServiceCredit
        fields = [
            "id",
            "kind",
            "ticket",
            "month",
            "days",
            "status",
            "breach_at",
            "claim_deadline",
            "organization",
            "claimed_at",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields

    def to_representation(self, credit: ServiceCredit) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(credit)
        data["status"] = credit.status_at(timezone.now())
        return data

    def get_ticket(self, credit: ServiceCredit) -> str | None:
        return format_reference(credit.ticket_id) if credit.ticket_id else None

    def get_month(self, credit: ServiceCredit) -> str | None:
        return f"{credit.month:%Y-%m}" if credit.month else None


class DecisionSerializer(serializers.Serializer[None]):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# django-filter ships no type information: FilterSet is Any to the type checker.
class CreditFilter(django_filters.FilterSet):  # type: ignore[misc]
    """status as the answers show it (ServiceCredit.status_at): a lapsed open credit is
    "expired" before the beat job writes it, and a GET never writes."""

    status = django_filters.ChoiceFilter(choices=CreditStatus.choices, method="filter_status")

    class Meta:
        model = ServiceCredit
        fields = ["organization", "kind", "status"]

    def filter_status(
        self, queryset: QuerySet[ServiceCredit], name: str, value: str
    ) -> QuerySet[ServiceCredit]:
        now = timezone.now()
        lapsed = Q(status=CreditStatus.OPEN, claim_deadline__lt=now)
        if value == CreditStatus.OPEN:
            return queryset.filter(status=CreditStatus.OPEN).exclude(lapsed)
        if value == CreditStatus.EXPIRED:
            return queryset.filter(Q(status=CreditStatus.EXPIRED) | lapsed)
        return queryset.filter(status=value)


class CreditViewSet(viewsets.ReadOnlyModelViewSet[ServiceCredit]):
    """Service credits: clients see and claim their organization's; staff see all, grant and
    refuse claims. Another organization's credit is a 404."""

    serializer_class = CreditSerializer
    filterset_class = CreditFilter
    ordering_fields = ["breach_at", "claim_deadline"]

    def get_queryset(self) -> QuerySet[ServiceCredit]:
        return ServiceCredit.objects.visible_to(self.request.user).order_by("-breach_at", "-id")

    @extend_schema(request=None, responses=CreditSerializer)
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: str | None = None) -> Response:
        user = request_user(request)
        credit = services.claim(self.get_object(), user=user, now=timezone.now())
        return Response(CreditSerializer(credit, context={"request": request}).data)

    @extend_schema(request=DecisionSerializer, responses=CreditSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def grant(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(services.grant, request)

    @extend_schema(request=DecisionSerializer, responses=CreditSerializer)
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(services.refuse, request)

    def _decide(self, verb: Decision, request: Request) -> Response:
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = body.validated_data["note"]
        credit = verb(self.get_object(), actor=request_user(request), note=note)
        return Response(CreditSerializer(credit, context={"request": request}).data)
