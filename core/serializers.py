"""Shapes every API module shares: times always carry their offset, in and out."""

import copy
import datetime
import re

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Real clocks run from UTC-12:00 to UTC+14:00; Python accepts up to ±23:59 and PostgreSQL
# refuses beyond ±15:59 (a 500), so anything past ±14:00 is refused as input.
MAX_UTC_OFFSET = datetime.timedelta(hours=14)


def offset_exists(value: datetime.datetime) -> bool:
    offset = value.utcoffset()
    return offset is None or abs(offset) <= MAX_UTC_OFFSET


class AwareDateTimeField(serializers.DateTimeField):
    """ISO-8601 with an explicit offset, both ways: a naive time is ambiguous, so refused."""

    default_error_messages = {
        "naive": _("Give a time with its UTC offset."),
        "offset": _("No clock has this UTC offset (from -12:00 to +14:00)."),
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        if not offset_exists(value):
            self.fail("offset")
        return super().enforce_timezone(value)

    def to_representation(self, value):
        # "+00:00" rather than DRF's "Z": every ISO-8601 parser reads it.
        return value.astimezone(datetime.UTC).isoformat() if value else None


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: AwareDateTimeField,
    }


def _folded(text) -> str:
    return re.sub(r"[\s_-]+", "", str(text)).casefold()


class LenientChoiceField(serializers.ChoiceField):
    """A choice given by its value or its label, in any case: "p1", "Session Replay", "gmt".

    Integrators type what they read in the portal; the stored and returned value is canonical.
    """

    def __init__(self, choices, **kwargs):
        super().__init__(choices, **kwargs)
        self._by_folded()  # made here, so that FreshFieldsMixin's copies share it

    def to_internal_value(self, data):
        if isinstance(data, str):
            value = self._by_folded().get(_folded(data), _NO_CHOICE)
            if value is not _NO_CHOICE:
                return value
        return super().to_internal_value(data)

    def _by_folded(self) -> dict:
        """Folded value or label -> value, the first choice winning; made once per set of
        choices (folding them all on every call cost a tenth of validating a new ticket)."""
        cached = getattr(self, "_folded_choices", None)
        if cached is None or cached[0] is not self.choices:
            by_folded: dict = {}
            for value, label in self.choices.items():
                by_folded.setdefault(_folded(value), value)
                by_folded.setdefault(_folded(label), value)
            cached = self._folded_choices = (self.choices, by_folded)
        return cached[1]


_NO_CHOICE = object()


class FreshFieldsMixin:
    """A serializer whose per-instance fields are copies of unbound fields made once from the
    declared fields' arguments, not deep copies of the declared ones: DRF's deepcopy also
    copies each argument, a related field's queryset (its whole Query) included, a tenth of
    an API ticket creation, and running each field's __init__ again cost half as much. A copy
    gets its own attributes (bind() sets its name, parent and source), and shares with its
    prototype what __init__ made and nothing changes afterwards: querysets (read through
    .all()), choices and validators, as DRF itself shares validators. A field with a field
    argument (a ListField's child, bound to its parent) is made afresh each time."""

    _declared_fields: dict

    def get_fields(self):
        return {name: _fresh(field) for name, field in self._declared_fields.items()}


def _fresh(field):
    prototype = _prototype(field)
    if prototype is None:
        kwargs = {
            key: copy.deepcopy(value) if isinstance(value, serializers.Field) else value
            for key, value in field._kwargs.items()
        }
        return type(field)(*field._args, **kwargs)
    clone = object.__new__(type(prototype))
    clone.__dict__.update(prototype.__dict__)
    return clone


def _prototype(field):
    """An unbound field made from the declared field's arguments, once per declared field;
    None for a field with a field argument."""
    try:
        return field.__dict__["_fresh_prototype"]
    except KeyError:
        pass
    arguments = [*field._args, *field._kwargs.values()]
    prototype = None
    if not any(isinstance(value, serializers.Field) for value in arguments):
        prototype = type(field)(*field._args, **field._kwargs)
    field.__dict__["_fresh_prototype"] = prototype
    return prototype
