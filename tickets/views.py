"""The customer portal. Every lookup starts from a `visible_to(user)` queryset; every change
goes through tickets.services, whose ServiceError lands on the form field it names."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Contract, Region
from core.errors import ServiceError

from . import client_actions, event_text, limits, services
from .forms import TABS, ReplyForm, SatisfactionForm, TicketFilterForm, TicketForm
from .listing import ListPaginator, capped_counts
from .models import (
    ACTIVE_STATUSES,
    Attachment,
    Channel,
    Comment,
    SatisfactionRating,
    Status,
    Ticket,
    TicketEvent,
)
from .outbound import mail_domain

PAGE_SIZE = 25
LIST_DEFERRED = ("description", "user_agent", "resolution")  # long texts no column shows


# --- list ---------------------------------------------------------------------------------


@login_required
def ticket_list(request):
    form = TicketFilterForm(request.GET)
    visible = Ticket.objects.visible_to(request.user)
    tickets = visible.select_related("organization__contract").with_unread_for(request.user)
    tickets = tickets.defer(*LIST_DEFERRED)
    data = form.cleaned_data if form.is_valid() else None
    if data:
        tickets = filter_tickets(tickets, data, request.user)
    page = ListPaginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "show_org": request.user.is_staff,
        "tabs": tab_links(visible, request.GET, form.current_tab()),
    }
    return render(request, "tickets/list.html", context)


def tab_links(visible, params, current: str) -> list[dict]:
    """Open / Waiting for you / Resolved / All, each with its count (one query, capped:
    tickets.listing) and a link that keeps the search but drops the other status filters."""
    counts = capped_counts(
        {
            name: visible.filter(status__in=statuses) if statuses else visible
            for name, (_label, statuses) in TABS.items()
        }
    )
    base = {"filtered": "1"}
    if params.get("q"):
        base["q"] = params["q"]
    return [
        {
            "name": name,
            "label": label,
            "count": counts[name],
            "current": name == current,
            "query": urlencode({**base, "tab": name}),
        }
        for name, (label, _statuses) in TABS.items()
    ]


def filter_tickets(tickets, data: dict, user):
    """Search (Ticket.objects.search: a reference is an exact match, public comments count)
    and filters of the list."""
    tickets = tickets.search(data["q"])
    if data["tab"]:
        statuses = TABS[data["tab"]][1]
        tickets = tickets.filter(status__in=statuses) if statuses else tickets
    elif data["status"]:
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
    response = render(request, "tickets/detail.html", detail_context(request.user, ticket, form))
    client_actions.mark_viewed(request.user, ticket)  # what the list's unread marker compares
    return response


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
        **feedback_context(user, ticket),
    }


def feedback_context(user, ticket) -> dict:
    """What the resolution box offers: "Is this solved?" and the one-question survey."""
    member = not user.is_staff and user.organization_id == ticket.organization_id
    finished = ticket.status in (Status.RESOLVED, Status.CLOSED)
    rating = SatisfactionRating.objects.filter(ticket=ticket).first() if finished else None
    return {
        "rating": rating,
        "can_confirm": member and ticket.status == Status.RESOLVED,
        "can_rate": member and finished and rating is None,
        "rating_form": SatisfactionForm(),
    }


def activity(events) -> list[dict]:
    """Public events as sentences a client reads; the SLA clock has its own timeline."""
    rows = []
    for event in events:
        if event.kind == TicketEvent.Kind.SLA:
            continue
        text = event_text.describe(event)
        if text:
            rows.append({"at": event.at, "text": text})
    return rows


# --- resolution feedback ------------------------------------------------------------------


def _client_request(request, reference, verb, success: str):
    """Run one client request on a ticket; a refusal is a message on the ticket page."""
    ticket = get_ticket(request.user, reference)
    try:
        verb(ticket)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("tickets:detail", reference=ticket.reference)


@login_required
@require_POST
def ticket_confirm(request, reference):
    return _client_request(
        request,
        reference,
        lambda t: client_actions.confirm_resolution(t, actor=request.user),
        _("Thank you for confirming. The ticket is now closed."),
    )


@login_required
@require_POST
def ticket_reopen(request, reference):
    def reopen(ticket):
        client_actions.check_cooldown(request.user, ticket, "reopened")
        services.reopen(ticket, actor=request.user, reason=request.POST.get("reason", ""))

    return _client_request(
        request, reference, reopen, _("The ticket is open again; support will get back to you.")
    )


@login_required
@require_POST
def ticket_rate(request, reference):
    form = SatisfactionForm(request.POST)

    def rate(ticket):
        if not form.is_valid():
            raise ServiceError(_("Choose a rating from 1 to 5."), field="rating")
        data = form.cleaned_data
        client_actions.rate(
            ticket, actor=request.user, rating=data["rating"], comment=data["comment"]
        )

    return _client_request(request, reference, rate, _("Thank you for your feedback."))


# --- downloads ----------------------------------------------------------------------------


@login_required
def attachment_download(request, pk):
    return _serve(request, pk, inline=False)


@login_required
def attachment_preview(request, pk):
    """Images and PDFs open in the browser; anything else downloads, as from the link."""
    return _serve(request, pk, inline=True)


# Nothing in a previewed file may run or load anything: it can show itself, no more.
PREVIEW_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _serve(request, pk, *, inline: bool):
    attachment = get_object_or_404(Attachment.objects.visible_to(request.user), pk=pk)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404(_("This file is no longer available.")) from error
    inline = inline and attachment.previewable
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    if inline:
        response["Content-Security-Policy"] = PREVIEW_CSP
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
