"""Portal forms. They collect input; the rules live in tickets.services and tickets.validators."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from portal.errors import ServiceError

from .models import Feature, Priority, Status
from .validators import check_attachments

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

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class AttachmentsMixin:
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


class TicketFilterForm(forms.Form):
    """The list's GET form. `filtered` tells a submitted form from a first visit."""

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
