"""Portal: a client (or staff) requests escalation from the ticket page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from core.errors import ServiceError
from tickets.client_actions import check_cooldown
from tickets.models import Ticket

from .services import request_escalation


@login_required
@require_POST
def escalate(request: HttpRequest, reference: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user).by_reference(reference))
    try:
        _check_portal_request(user, ticket)
        event = request_escalation(ticket, user, request.POST.get("reason", ""))
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Escalated to level %(level)s: %(role)s has been notified.")
            % {"level": event.level, "role": event.role},
        )
    return redirect("tickets:detail", reference=ticket.reference)


def _check_portal_request(user: User, ticket: Ticket) -> None:
    """The portal offers escalation only on tickets still in progress, and spaces a client's
    requests out (the API keeps its own rules: staff and integrators escalate any ticket)."""
    if not ticket.is_active:
        raise ServiceError(
            _("This ticket is resolved: reopen it, or open a new one, if you still need help.")
        )
    check_cooldown(user, ticket, "escalated")
