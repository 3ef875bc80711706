"""Portal forms. They collect input; the rules live in tickets.services and tickets.validators."""

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organization
from core.errors import ServiceError

from .models import Feature, Priority, Status
from .validators import MAX_ATTACHMENTS_PER_MESSAGE, check_attachments

# The contract's definitions (section 2 of the product spec), shown beside each choice
# so a client can suggest a priority; support staff make the final classification.
PRIORITY_GUIDANCE = {
    Priority.P0: _(
        "The solution is totally unusable (session replay, heatmaps, zoning or workspace), "
        "or it substantially harms your site."
    ),
    Priority.P1: _(
        "Significant impact on users or features: missing pages, recording latency, "
        "session lag, data gaps, login problems."
    ),
    Priority.P2: _(
        "It works, but some features are degraded: connection delays, replay display, "
        "heatmap or zoning display."
    ),
    Priority.P3: _(
        "Everything else: rights requests, known issues with a workaround, feature requests."
    ),
}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Django's FileField cleans one file; this one cleans the list a multiple input sends."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def widget_attrs(self, widget):
        """The limits, for the browser to check before sending (static/js/portal.js)."""
        attrs = super().widget_attrs(widget)
        allowed = settings.ATTACHMENT_ALLOWED_EXTENSIONS
        attrs.update(
            {
                "accept": ",".join(f".{ext}" for ext in allowed),
                "data-max-bytes": str(settings.ATTACHMENT_MAX_BYTES),
                "data-max-files": str(MAX_ATTACHMENTS_PER_MESSAGE),
            }
        )
        return attrs

    def limits_text(self) -> str:
        return _("Up to %(count)d files, %(size)s each.") % {
            "count": MAX_ATTACHMENTS_PER_MESSAGE,
            "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        }

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


# What the mixin relies on of the form it is mixed into, for the type checker only.
if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class AttachmentsMixin(_FormBase):
    def clean_attachments(self):
        files = self.cleaned_data.get("attachments") or []
        try:
            check_attachments(files)
        except ServiceError as error:
            raise ValidationError(error.message) from error
        return files

    def add_service_error(self, error: ServiceError) -> None:
        """Show a refusal from a service on the field it names, or above the form."""
        self.add_error(error.field if error.field in self.fields else None, error.message)


class TicketForm(AttachmentsMixin, forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.all(),
        label=_("Organization"),
        help_text=_("Support staff file on behalf of a client organization."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    feature = forms.ChoiceField(label=_("Feature"), choices=Feature.choices)
    priority = forms.ChoiceField(
        label=_("Suggested priority"),
        choices=Priority.choices,
        widget=forms.RadioSelect,
        initial=Priority.P2,
        help_text=_("Support staff confirm the priority when they triage the ticket."),
    )
    description = forms.CharField(
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What happened, on which page, and how to reproduce it."),
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        help_text=_("Screenshots, HAR files or logs (optional)."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_staff:
            # A client always files for its own organization.
            del self.fields["organization"]

    def priority_options(self):
        """Each radio button with the contract's definition, for the template."""
        return [(radio, PRIORITY_GUIDANCE[radio.data["value"]]) for radio in self["priority"]]


class ReplyForm(AttachmentsMixin, forms.Form):
    body = forms.CharField(
        label=_("Your reply"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = MultipleFileField(label=_("Attachments"))


# The list's tabs: what a client looks for first. "Open" keeps everything still in progress
# (including what waits for the client); resolved and closed tickets stay one click away.
TABS = {
    "open": (pgettext_lazy("tickets tab", "Open"), (Status.NEW, Status.OPEN, Status.PENDING)),
    "waiting": (pgettext_lazy("tickets tab", "Waiting for you"), (Status.PENDING,)),
    "resolved": (pgettext_lazy("tickets tab", "Resolved"), (Status.RESOLVED, Status.CLOSED)),
    "all": (pgettext_lazy("tickets tab", "All"), ()),
}


class SatisfactionForm(forms.Form):
    """The one-question survey shown once a ticket is resolved."""

    rating = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled this ticket?"),
        choices=[
            (5, _("5 — Very satisfied")),
            (4, _("4 — Satisfied")),
            (3, _("3 — Neutral")),
            (2, _("2 — Dissatisfied")),
            (1, _("1 — Very dissatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class TicketFilterForm(forms.Form):
    """The list's GET form. `filtered` tells a submitted form from a first visit."""

    tab = forms.ChoiceField(
        required=False, choices=[("", "")] + [(k, v[0]) for k, v in TABS.items()]
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices]
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Any priority")), *Priority.choices]
    )
    feature = forms.ChoiceField(
        label=_("Feature"), required=False, choices=[("", _("Any feature")), *Feature.choices]
    )
    open_only = forms.BooleanField(label=_("Open only"), required=False)
    filtered = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        if data is not None and "filtered" not in data:
            data = data.copy()
            data["filtered"], data["open_only"] = "1", "on"  # first visit: what needs attention
        super().__init__(data, **kwargs)

    def current_tab(self) -> str:
        """The tab to highlight: the one asked for, else what the other filters amount to."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("tab"):
            return data["tab"]
        if data.get("status"):
            return ""
        return "open" if data.get("open_only") else "all"
