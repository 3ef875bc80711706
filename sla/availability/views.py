"""Portal pages: service status, service credits, monthly SLA statements."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organization, User
from core.errors import ServiceError

from . import charts, services, statement
from .models import CreditStatus, PlannedInterruption, ServiceCredit
from .statement_pdf import render_pdf

HISTORY_MONTHS = 12


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # every view here is login_required
    return user


def _organization(request: HttpRequest) -> Organization | None:
    """Clients see their organization; staff (no organization) see the global figures."""
    user = _user(request)
    return user.organization if user.organization_id else None


@login_required
def status(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    now = timezone.now()
    open_incidents = services.open_incidents(organization, now)
    history = services.availability_history(organization, HISTORY_MONTHS, now)
    planned = (
        PlannedInterruption.objects.affecting(organization)
        .filter(end__gt=now, announced_at__lte=now)
        .order_by("start")[:10]
    )
    return render(
        request,
        "availability/status.html",
        {
            "organization": organization,
            "now": now,
            "state": "outage" if open_incidents else "operational",
            "open_incidents": open_incidents,
            "maintenance": services.upcoming_maintenance(organization, now),
            "planned": [p for p in planned if p.announced_in_advance],
            "history": history,
            "chart": charts.availability_chart(history),
            "statement_months": [row["month_date"] for row in reversed(history)],
        },
    )


@login_required
def credits(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    now = timezone.now()
    rows = list(
        ServiceCredit.objects.visible_to(request.user)
        .filter(organization=organization)
        .select_related("ticket")
        .order_by("-breach_at", "-id")
    )
    groups = [
        (status, label, [c for c in rows if c.status == status])
        for status, label in CreditStatus.choices
    ]
    contract = getattr(organization, "contract", None) if organization else None
    return render(
        request,
        "availability/credits.html",
        {
            "organization": organization,
            "now": now,
            "groups": groups,
            "credits": rows,
            "contract": contract,
            "contract_changes": contract.changes.select_related("credit")[:10] if contract else [],
        },
    )


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    credit = get_object_or_404(ServiceCredit.objects.visible_to(request.user), pk=pk)
    try:
        services.claim(credit, user=_user(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your claim has been recorded; support staff will review it."))
    return redirect("availability:credits")


def _statement(request: HttpRequest, month_text: str) -> statement.Statement:
    organization = _organization(request)
    if organization is None:
        raise Http404(_("Statements are per organization."))
    try:
        month = services.parse_month(month_text)
        built: statement.Statement = statement.build(organization, month, timezone.now())
        return built
    except ServiceError as error:
        raise Http404(error.message) from error


@login_required
def statement_html(request: HttpRequest, month: str) -> HttpResponse:
    data = _statement(request, month)
    return render(request, "availability/statement.html", {"statement": data})


@login_required
def statement_pdf(request: HttpRequest, month: str) -> HttpResponse:
    data = _statement(request, month)
    response = HttpResponse(render_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="sla-statement-{month}.pdf"'
    return response
