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

    def to_internal_value(self, data):
        if isinstance(data, str):
            wanted = _folded(data)
            for value, label in self.choices.items():
                if wanted in (_folded(value), _folded(label)):
                    return value
        return super().to_internal_value(data)


class FreshFieldsMixin:
    """A serializer whose per-instance fields are made from the declared fields' arguments,
    not deep copies of them: DRF's deepcopy also copies each argument, a related field's
    queryset (its whole Query) included, a tenth of an API ticket creation. Field arguments
    (a ListField's child) are still copied; querysets, choices and validators are shared,
    as DRF itself shares validators: a related field reads its queryset through .all()."""

    _declared_fields: dict

    def get_fields(self):
        return {name: _fresh(field) for name, field in self._declared_fields.items()}


def _fresh(field):
    kwargs = {
        key: copy.deepcopy(value) if isinstance(value, serializers.Field) else value
        for key, value in field._kwargs.items()
    }
    return type(field)(*field._args, **kwargs)
