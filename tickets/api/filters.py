"""Ticket list filters. Every filter narrows a queryset that visible_to() already scoped."""

import datetime

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework.filters import OrderingFilter

from core.serializers import offset_exists

from ..models import Channel, Feature, Priority, Status, Ticket, breached_q

BIGINT_MAX = 2**63 - 1


class CommaMultipleChoiceField(forms.MultipleChoiceField):
    """Accepts `?status=new&status=open` and `?status=new,open` alike."""

    def to_python(self, value):
        values = super().to_python(value)
        return [part.strip() for item in values for part in item.split(",") if part.strip()]


class MultipleChoiceFilter(django_filters.MultipleChoiceFilter):
    field_class = CommaMultipleChoiceField

    def __init__(self, *args, **kwargs):
        # The filtered columns live on the ticket row: no join can duplicate it.
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class AwareIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """A bound without an offset is ambiguous across the three support regions."""

    def to_python(self, value):
        try:
            parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
        except ValueError:
            parsed = None  # out-of-range parts: the parent reports it as invalid
        if parsed is not None and timezone.is_naive(parsed):
            raise forms.ValidationError(_("Give a time with its UTC offset."), code="naive")
        if parsed is not None and not offset_exists(parsed):
            raise forms.ValidationError(
                _("No clock has this UTC offset (from -12:00 to +14:00)."), code="offset"
            )
        bound = super().to_python(value)
        try:
            # The database compares in UTC; year 1 at +14:00 has no UTC equivalent.
            return bound.astimezone(datetime.UTC) if bound else None
        except OverflowError:
            raise forms.ValidationError(_("This time is out of range."), code="overflow") from None


class StrictBooleanField(forms.Field):
    """true/false/1/0; anything else is an error rather than 'no filter'."""

    VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError(_("Use true or false."), code="invalid") from None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class AwareIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = AwareIsoDateTimeField


class TicketFilter(django_filters.FilterSet):
    status = MultipleChoiceFilter(choices=Status.choices)
    priority = MultipleChoiceFilter(choices=Priority.choices)
    channel = MultipleChoiceFilter(choices=Channel.choices)
    feature = MultipleChoiceFilter(choices=Feature.choices)
    organization = django_filters.NumberFilter(
        field_name="organization_id", min_value=1, max_value=BIGINT_MAX
    )
    assignee = django_filters.CharFilter(
        method="filter_assignee",
        validators=[
            RegexValidator(r"^(?i:none|me|\d{1,18})$", _("Give a user id, 'me' or 'none'."))
        ],
        help_text=_("A staff user id, 'me', or 'none'."),
    )
    received_after = AwareIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = AwareIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")
    breached = BooleanFilter(
        method="filter_breached", help_text=_("Response or resolution deadline missed.")
    )
    excluded = BooleanFilter()
    search = django_filters.CharFilter(
        method="filter_search",
        help_text=_(
            "Words of the subject, description or public replies (English or French), "
            "part of the subject, or a reference (CS-000123)."
        ),
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_assignee(self, queryset, name, value):
        value = value.strip().lower()
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee_id=self.request.user.pk)
        return queryset.filter(assignee_id=int(value))

    def filter_breached(self, queryset, name, value):
        late = breached_q(timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_search(self, queryset, name, value):
        return queryset.search(value)


class TicketOrdering(OrderingFilter):
    """Client-chosen ordering, with the id as tie-break so pages never overlap."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if ordering and not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("-id" if ordering[-1].startswith("-") else "id")
        return ordering
