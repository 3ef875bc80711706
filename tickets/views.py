"""The customer portal. Every lookup starts from a `visible_to(user)` queryset; every change
goes through tickets.services, whose ServiceError lands on the form field it names."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import Contract, Region
from portal.errors import ServiceError
from portal.paging import TwoEndedPaginator

from . import limits, services
from .forms import ReplyForm, TicketFilterForm, TicketForm
from .models import (
    ACTIVE_STATUSES,
    Attachment,
    Channel,
    Comment,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)
from .outbound import mail_domain

PAGE_SIZE = 25


# --- list ---------------------------------------------------------------------------------


@login_required
def ticket_list(request):
    form = TicketFilterForm(request.GET)
    # The SLA badge reads the contract's region: one join instead of a query per row.
    tickets = Ticket.objects.visible_to(request.user).select_related("organization__contract")
    if form.is_valid():
        tickets = filter_tickets(tickets, form.cleaned_data)
    page = TwoEndedPaginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {"form": form, "page": page, "query": query.urlencode(), "show_org": request.user.is_staff},
    )


def filter_tickets(tickets, data: dict):
    """Search (Ticket.objects.search: a reference is an exact match) and filters of the list."""
    tickets = tickets.search(data["q"])
    if data["status"]:
        tickets = tickets.filter(status=data["status"])
    elif data["open_only"]:
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
    for name in ("priority", "feature"):
        if data[name]:
            tickets = tickets.filter(**{name: data[name]})
    return tickets


# --- filing -------------------------------------------------------------------------------


def is_chrome(user_agent: str) -> bool:
    """The contract covers current Google Chrome only; Edge and Opera also say "Chrome/"."""
    others = ("Edg/", "OPR/", "SamsungBrowser/", "YaBrowser/", "Vivaldi/")
    return "Chrome/" in user_agent and not any(o in user_agent for o in others)


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    user = request.user
    if not user.is_staff and user.organization_id is None:
        return render(request, "tickets/no_organization.html", status=403)
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    form = TicketForm(request.POST or None, request.FILES or None, user=user)
    if request.method == "POST" and form.is_valid():
        ticket = _open_from_form(request, form, user_agent)
        if ticket is not None:
            messages.success(
                request,
                _("Ticket %(reference)s was created. We will keep you posted here and by email.")
                % {"reference": ticket.reference},
            )
            return redirect("tickets:detail", reference=ticket.reference)
    return render(
        request,
        "tickets/new.html",
        {"form": form, "browser_supported": is_chrome(user_agent)},
    )


def _open_from_form(request, form, user_agent):
    data = form.cleaned_data
    try:
        limits.check_new_ticket(request.user)
        return services.open_ticket(
            organization=data.get("organization") or request.user.organization,
            reporter=request.user,
            subject=data["subject"],
            description=data["description"],
            priority=data["priority"],
            feature=data["feature"],
            channel=Channel.WEB,
            user_agent=user_agent,
            files=data["attachments"],
        )
    except ServiceError as error:
        form.add_service_error(error)
        return None


# --- detail and reply ---------------------------------------------------------------------


def get_ticket(user, reference) -> Ticket:
    tickets = Ticket.objects.visible_to(user).select_related(
        "organization__contract", "reporter", "assignee"
    )
    return get_object_or_404(tickets.by_reference(reference))


@login_required
@require_http_methods(["GET", "POST"])
def ticket_detail(request, reference):
    ticket = get_ticket(request.user, reference)
    if reference != ticket.reference:
        return redirect("tickets:detail", reference=ticket.reference)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if _reply_from_form(request, ticket, form):
            messages.success(request, _("Your reply was added."))
            return redirect("tickets:detail", reference=ticket.reference)
    return render(request, "tickets/detail.html", detail_context(request.user, ticket, form))


def _reply_from_form(request, ticket, form) -> bool:
    try:
        services.add_comment(
            ticket,
            author=request.user,
            body=form.cleaned_data["body"],
            channel=Channel.WEB,
            files=form.cleaned_data["attachments"],
        )
    except ServiceError as error:
        form.add_service_error(error)
        return False
    return True


def detail_context(user, ticket, form) -> dict:
    visible_files = Attachment.objects.visible_to(user)
    comments = (
        Comment.objects.visible_to(user)
        .filter(ticket=ticket)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=visible_files))
    )
    public_events = list(ticket.events.filter(public=True).select_related("actor"))
    return {
        "ticket": ticket,
        "form": form,
        "comments": comments,
        "attachments": visible_files.filter(ticket=ticket, comment__isnull=True),
        "sla_events": [e for e in public_events if e.kind == TicketEvent.Kind.SLA],
        "activity": activity(public_events),
        "assignee_name": ticket.assignee.first_name if ticket.assignee else "",
        "is_closed": ticket.status == Status.CLOSED,
    }


def activity(events) -> list[dict]:
    """Public events as sentences a client reads; the SLA clock has its own timeline."""
    rows = []
    for event in events:
        if event.kind == TicketEvent.Kind.SLA:
            continue
        text = describe_event(event)
        if text:
            rows.append({"at": event.at, "text": text})
    return rows


CHOICE_LABELS = {"status": Status, "priority": Priority}
# Fields already told by another event of the same change (e.g. "resolved" and the status).
QUIET_FIELDS = {"resolved_at", "closed_at", "triaged_at", "exclusion_reason"}


def describe_event(event: TicketEvent) -> str:
    if event.field in CHOICE_LABELS:
        labels = dict(CHOICE_LABELS[event.field].choices)
        name = _("Status") if event.field == "status" else _("Priority")
        old = labels.get(event.old_value, event.old_value or "—")
        return f"{name}: {old} → {labels.get(event.new_value, event.new_value)}"
    if event.note:
        return event.note
    if event.action == "first_response":
        return _("Support started working on the ticket.")
    if event.field == "excluded":
        if event.new_value == "True":
            return _("Marked as outside the contract's SLA.")
        return _("The SLA applies again.")
    if event.field in QUIET_FIELDS:
        return ""
    return event.action.replace("_", " ").capitalize()


# --- downloads ----------------------------------------------------------------------------


@login_required
def attachment_download(request, pk):
    attachment = get_object_or_404(Attachment.objects.visible_to(request.user), pk=pk)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404(_("This file is no longer available.")) from error
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- contact ------------------------------------------------------------------------------


def contact(request):
    """Public: hours, phone lines, intake addresses and who to escalate to."""
    contract = _contract_of(request.user)
    phones = settings.SUPPORT_PHONE_NUMBERS
    regions = [
        {"code": code, "label": label, "phone": phones.get(code, "")}
        for code, label in Region.choices
    ]
    domain = mail_domain()
    return render(
        request,
        "portal/contact.html",
        {
            "regions": regions,
            "contract": contract,
            "premier_email": f"premier@{domain}",
            "support_email": f"support@{domain}",
            "new_ticket_url": reverse("tickets:new"),
        },
    )


def _contract_of(user):
    if not user.is_authenticated or user.is_staff or user.organization_id is None:
        return None
    return (
        Contract.objects.select_related("plan", "support_manager", "account_manager")
        .filter(organization_id=user.organization_id)
        .first()
    )
