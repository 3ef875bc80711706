"""Routes of this app under /api/v1/, added by portal/api_urls.py:

from sla.availability.api_urls import register as register_availability
register_availability(router)
urlpatterns = [..., *availability_urlpatterns]
"""

from django.urls import path
from rest_framework.routers import BaseRouter

from .api import AvailabilityView, CreditViewSet, IncidentViewSet

ROUTES = [
    ("incidents", IncidentViewSet, "incident"),
    ("credits", CreditViewSet, "credit"),
]


def register(router: BaseRouter) -> None:
    for prefix, viewset, basename in ROUTES:
        router.register(prefix, viewset, basename=basename)


urlpatterns = [
    path("availability/", AvailabilityView.as_view(), name="api-availability"),
]
