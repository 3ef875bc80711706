"""Routes under /api/v1/. Each app registers its viewsets on the one router below."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api import LogoutView, OrganizationViewSet, TokenView, UserViewSet
from escalation.urls import api_urlpatterns as escalation_urlpatterns
from notifications.urls import api_urlpatterns as notification_urlpatterns
from sla.availability.api_urls import register as register_availability
from sla.availability.api_urls import urlpatterns as availability_urlpatterns
from tickets.api.views import AttachmentViewSet, TicketViewSet
from webhooks.api import WebhookEndpointViewSet

router = DefaultRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("users", UserViewSet, basename="user")
router.register("tickets", TicketViewSet, basename="ticket")
router.register("attachments", AttachmentViewSet, basename="attachment")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")
# Other apps: register top-level viewsets here (incidents, credits).
register_availability(router)

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    # Other apps: plain views and ticket sub-resources (tickets/<reference>/escalations/)
    # go here, before the router, whose tickets/<reference>/ routes would not match them.
    *escalation_urlpatterns,
    *notification_urlpatterns,
    *availability_urlpatterns,
    *router.urls,
]
