"""The ticket page's form (properties and composer) and the phone-call form.

Forms collect input; tickets.services decides. Each form runs the service calls it would
make inside a rolled-back savepoint first, so a refusal lands on the field it names.
"""

from django import forms
from django.contrib.admin import helpers
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ServiceError
from tickets import services
from tickets.forms import AttachmentsMixin, MultipleFileField
from tickets.models import Channel, Priority, Status, Ticket

# ServiceError.field names that differ from the admin form's field names.
FORM_FIELD_FOR = {
    "reason": "exclusion_reason",
    "body": "new_comment",
    "internal": "comment_internal",
}

# Submit buttons of the composer beside "Save": what each one adds to the edit.
REPLY_AND_WAIT = "_reply_wait"
RESOLVE = "_resolve"
ASSIGN_TO_ME = "_assign_me"


class _Rollback(Exception):
    pass


def dry_run(apply) -> None:
    """Run the services inside a savepoint that is always rolled back; ServiceError escapes.

    Lets a form report what the services would refuse before the admin saves anything.
    """
    try:
        with transaction.atomic():
            apply()
            raise _Rollback
    except _Rollback:
        pass


def add_service_error(form, error: ServiceError) -> None:
    name = FORM_FIELD_FOR.get(error.field or "", error.field)
    form.add_error(name if name in form.fields else None, error.message)


def apply_changes(ticket, data: dict, changed: set, actor, files=()) -> None:
    """Turn an edited ticket page into service calls, in an order where each one makes sense.

    Details and exclusion first, then triage (which may open a new ticket), the assignee, the
    reply (so "reply and resolve" counts the reply as the first response), the status last.
    """
    _apply_details(ticket, data, changed, actor)
    if "priority" in changed:
        services.triage(ticket, priority=data["priority"], actor=actor)
    if "assignee" in changed:
        services.assign(ticket, assignee=data["assignee"], actor=actor)
    _apply_comment(ticket, data, actor, files)
    if "status" in changed:
        _apply_status(ticket, data, actor)


def _apply_details(ticket, data, changed, actor) -> None:
    details = {
        name: data[name] for name in ("subject", "description", "feature") if name in changed
    }
    if details:
        services.update_details(ticket, actor=actor, **details)
    if changed & {"excluded", "exclusion_reason"}:
        services.set_exclusion(
            ticket,
            excluded=data.get("excluded", False),
            reason=data.get("exclusion_reason", ""),
            actor=actor,
        )


def _apply_comment(ticket, data, actor, files) -> None:
    if (data.get("new_comment") or "").strip() or files:
        services.add_comment(
            ticket,
            author=actor,
            body=data.get("new_comment") or "",
            internal=bool(data.get("comment_internal")),
            files=files,
        )


def _apply_status(ticket, data, actor):
    if data["status"] == Status.RESOLVED:
        services.resolve(ticket, actor=actor, resolution=data.get("resolution", "").strip())
    else:
        services.set_status(ticket, status=data["status"], actor=actor)


class TicketChangeForm(AttachmentsMixin, forms.ModelForm):
    new_comment = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "id": "composer-body"}),
    )
    comment_internal = forms.BooleanField(
        label=gettext_lazy("Internal note"),
        required=False,
        help_text=gettext_lazy("Visible to support staff only; not a response to the client."),
    )
    attachments = MultipleFileField(label=gettext_lazy("Attach files"))
    resolution = forms.CharField(
        label=gettext_lazy("Resolution note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required to resolve; shown and mailed to the client."),
    )

    request: HttpRequest | None = None  # set per request by TicketAdmin.get_form

    class Meta:
        model = Ticket
        # What staff may edit; everything else is set by the services (see readonly_fields).
        fields = (
            "subject",
            "description",
            "feature",
            "priority",
            "status",
            "assignee",
            "excluded",
            "exclusion_reason",
        )

    @property
    def changed_fields(self) -> set:
        """The edited fields plus what the composer's buttons ask for."""
        return set(self.changed_data) | set(self._intents())

    def _intents(self) -> dict:
        request = self.request
        if request is None:
            return {}
        post, intents = request.POST, dict[str, object]()
        if REPLY_AND_WAIT in post:
            intents["status"] = Status.PENDING
        if RESOLVE in post:
            intents["status"] = Status.RESOLVED
        if ASSIGN_TO_ME in post:
            intents["assignee"] = request.user
        return intents

    def clean(self):
        cleaned = super().clean()
        cleaned.update(self._intents())
        if self.request is not None and ASSIGN_TO_ME in self.request.POST:
            # Taking the ticket never sends the draft in the composer (the page keeps it).
            cleaned.update(new_comment="", attachments=[])
        self._require_resolution_note(cleaned)
        self._require_question(cleaned)
        if not self.errors:
            changed, user = self.changed_fields, self.request.user
            try:
                dry_run(lambda: apply_changes(self.instance, cleaned, changed, user))
            except ServiceError as error:
                add_service_error(self, error)
        return cleaned

    def _require_resolution_note(self, cleaned):
        resolving = cleaned.get("status") == Status.RESOLVED != self.instance.status
        if resolving and not (cleaned.get("resolution") or "").strip():
            self.add_error(
                "resolution",
                _("Write a resolution note: the client reads it with the resolution."),
            )

    def _require_question(self, cleaned):
        """“Send and set waiting” without a message leaves the client nothing to act on."""
        asking = self.request is not None and REPLY_AND_WAIT in self.request.POST
        written = (cleaned.get("new_comment") or "").strip() or cleaned.get("attachments")
        if asking and not written:
            self.add_error("new_comment", _("Write what you need from the client."))
        if asking and cleaned.get("comment_internal"):
            self.add_error("comment_internal", _("The client cannot read an internal note."))


class TicketAddForm(forms.ModelForm):
    """A call logged by staff (the 24/7 phone line), or any report received outside the portal."""

    request: HttpRequest | None = None  # set per request by TicketAdmin.get_form

    class Meta:
        model = Ticket
        fields = (
            "organization",
            "reporter",
            "subject",
            "description",
            "priority",
            "feature",
            "channel",
            "received_at",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "received_at" in self.fields:
            self.fields["received_at"].required = False
            self.fields["received_at"].help_text = _(
                "When the call came in; leave empty for now. Never in the future."
            )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            try:
                dry_run(lambda: open_from_form(cleaned, self.request.user))
            except ServiceError as error:
                add_service_error(self, error)
        return cleaned


def open_from_form(data: dict, actor) -> Ticket:
    return services.open_ticket(
        organization=data["organization"],
        reporter=data.get("reporter"),
        subject=data.get("subject", ""),
        description=data.get("description", ""),
        priority=data.get("priority") or None,
        feature=data.get("feature") or None,
        channel=data.get("channel") or Channel.PHONE,
        received_at=data.get("received_at"),
        actor=actor,
    )


class TicketActionForm(helpers.ActionForm):
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        choices=[("", "---------"), *Priority.choices],
        required=False,
        help_text=gettext_lazy("For “Set priority”."),
    )
    resolution = forms.CharField(
        label=gettext_lazy("Resolution note"),
        required=False,
        help_text=gettext_lazy("For “Resolve”: shown and mailed to the client."),
    )
