"""Portal pages show times in the organization's support region, with the zone's name.

A client's region is read when they sign in (it lives on the contract) and kept in the
session, so pages pay no extra query; staff, who serve every region, keep UTC unless a page
activates a ticket's own zone (`{% timezone ticket_timezone %}` on the ticket page).
"""

from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.models import Organization
from sla.calendars import region_timezone

SESSION_KEY = "portal_timezone"


def organization_timezone(organization) -> str:
    contract = getattr(organization, "contract", None) if organization else None
    return region_timezone(contract.region if contract else None)


class RegionTimezoneMiddleware:
    """Activate the signed-in client's region for the request. After AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = self._zone(request)
        if name:
            timezone.activate(ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def _zone(self, request) -> str | None:
        if request.path.startswith("/api/"):
            return None  # the API speaks UTC offsets whoever asks, session or token
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_staff:
            return None
        if not user.organization_id:
            return None
        key = f"{SESSION_KEY}:{user.organization_id}"
        if key not in request.session:  # a session from before sign-in kept the zone
            remember_timezone(request, user)
        return request.session[key]


def remember_timezone(request, user, **kwargs) -> None:
    """user_logged_in receiver: keep the client's zone in the session (one query, once)."""
    if request is None or user.is_staff or not user.organization_id:
        return
    organization = Organization.objects.select_related("contract").get(pk=user.organization_id)
    zone = organization_timezone(organization)
    request.session[f"{SESSION_KEY}:{user.organization_id}"] = zone
