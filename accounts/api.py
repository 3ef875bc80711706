"""REST API for tokens, organizations and users. Writes go through accounts.services."""

from django.contrib.auth import logout, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import (
    exceptions,
    mixins,
    permissions,
    serializers,
    status,
    views,
    viewsets,
)
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ClientScopedRateThrottle
from core.serializers import LenientChoiceField, ModelSerializer

from . import services, throttle, tokens
from .models import ApiToken, Organization, Plan, Region, User, normalise_domains


class IsStaffOrReadOnly(permissions.BasePermission):
    """Clients may read what their queryset shows them; only staff create."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class TokenView(views.APIView):
    """`{username, password}` → `{token}`: a new key, valid API_TOKEN_TTL_HOURS; throttled,
    since it is the one guessable door."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [ClientScopedRateThrottle]
    throttle_scope = "token"
    serializer_class = AuthTokenSerializer

    @extend_schema(request=AuthTokenSerializer, responses=TokenResponseSerializer)
    def post(self, request, *args, **kwargs):
        try:
            data = request.data if hasattr(request.data, "get") else {}
            throttle.check_sign_in(request, str(data.get("username", ""))[:150])
        except throttle.Throttled as exc:
            raise exceptions.Throttled(wait=exc.retry_after) from None
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        return Response({"token": tokens.issue(serializer.validated_data["user"])})


class LogoutView(views.APIView):
    """Revokes the token the request came with (spec 6); a session is signed out."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        if isinstance(request.auth, ApiToken):
            tokens.revoke(request.auth)
        elif request.user.is_authenticated:
            logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- organizations -----------------------------------------------------------------------


def _check_domain(value: str) -> None:
    domain = value.strip().lower().lstrip("@")
    if "." not in domain or "@" in domain or " " in domain:
        raise serializers.ValidationError(_("“%s” is not a domain name.") % value)


class OrganizationSerializer(ModelSerializer):
    region = LenientChoiceField(choices=Region.choices, source="contract.region")
    plan = serializers.SlugRelatedField(
        slug_field="slug", queryset=Plan.objects.all(), source="contract.plan"
    )
    email_domains = serializers.ListField(
        child=serializers.CharField(max_length=253, validators=[_check_domain]),
        required=False,
        max_length=100,
    )
    start_date = serializers.DateField(source="contract.start_date", required=False)
    end_date = serializers.DateField(source="contract.end_date", required=False)
    support_manager = serializers.IntegerField(
        source="contract.support_manager_id", read_only=True, allow_null=True
    )
    account_manager = serializers.IntegerField(
        source="contract.account_manager_id", read_only=True, allow_null=True
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "region",
            "plan",
            "email_domains",
            "start_date",
            "end_date",
            "support_manager",
            "account_manager",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is the service's rule (case-insensitive); the model validator would
        # answer first with a different, case-sensitive check.
        extra_kwargs: dict[str, dict] = {"name": {"validators": []}}

    def validate(self, attrs):
        contract = attrs.get("contract", {})
        # The service starts a contract today when no start is given.
        start = contract.get("start_date") or timezone.localdate()
        end = contract.get("end_date")
        if end and end < start:
            raise serializers.ValidationError({"end_date": [_("The end is before the start.")]})
        return attrs

    def create(self, validated_data):
        contract = validated_data.pop("contract")
        return services.create_organization(
            name=validated_data["name"].strip(),
            region=contract["region"],
            plan=contract["plan"],
            email_domains=normalise_domains(validated_data.get("email_domains", [])),
            start_date=contract.get("start_date"),
            end_date=contract.get("end_date"),
        )


class OrganizationViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Staff see and create every organization; a client sees only its own."""

    serializer_class = OrganizationSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    filterset_fields = None
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]
    queryset = Organization.objects.select_related("contract__plan")

    def get_queryset(self):
        qs = super().get_queryset()
        user = self.request.user
        return qs if user.is_staff else qs.filter(pk=user.organization_id)


# -- users -----------------------------------------------------------------------------------


class UserSerializer(ModelSerializer):
    role = serializers.ChoiceField(choices=["client", "staff"], default="client")
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, trim_whitespace=False, max_length=128
    )
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, allow_null=True
    )
    email = serializers.EmailField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "password",
            "first_name",
            "last_name",
            "organization",
            "role",
            "is_org_admin",
            "language",
            "phone",
            "is_active",
            "date_joined",
        ]
        read_only_fields = ["id", "is_active", "date_joined"]
        # The service checks uniqueness case-insensitively and names the field.
        extra_kwargs = {"username": {"validators": [UnicodeUsernameValidator()]}}

    def validate(self, attrs):
        if attrs.get("role") == "client" and attrs.get("organization") is None:
            raise serializers.ValidationError(
                {"organization": [_("A client belongs to an organization.")]}
            )
        self._check_password(attrs)
        return attrs

    def _check_password(self, attrs):
        # The validators compare the password with the other attributes, so build the user.
        fields = ("username", "email", "first_name", "last_name")
        candidate = User(**{name: attrs[name] for name in fields if name in attrs})
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as err:
            raise serializers.ValidationError({"password": list(err.messages)}) from None

    def create(self, validated_data):
        return services.create_user(actor=self.context["request"].user, **validated_data)


class UserViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Staff see everyone; a client sees itself, an organization admin its colleagues too."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "date_joined"]
    queryset = User.objects.order_by("username")

    def get_queryset(self):
        qs = super().get_queryset()
        user = self.request.user
        if user.is_staff:
            return qs
        if user.is_org_admin and user.organization_id:
            return qs.filter(Q(pk=user.pk) | Q(organization_id=user.organization_id))
        return qs.filter(pk=user.pk)

    @extend_schema(request=None, responses=UserSerializer)
    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def me(self, request):
        return Response(self.get_serializer(request.user).data, status=status.HTTP_200_OK)
