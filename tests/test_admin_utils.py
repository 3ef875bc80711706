"""Helpers shared by the admin tests: build the POST an admin change form would send."""

import datetime

from django.utils import timezone


def admin_form_data(response, **overrides) -> dict:
    """The data a browser would submit for the admin form rendered in `response`.

    Includes each inline's management form and row ids, so read-only inlines validate.
    """
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        data.update(_field_data(form[name]))
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for row in formset.initial_forms:
            for name in row.fields:
                data.update(_field_data(row[name]))
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _field_data(bound) -> dict:
    value = bound.value()
    widget = bound.field.widget
    if hasattr(widget, "widgets"):  # split date/time
        parts = widget.decompress(value)
        return {f"{bound.html_name}_{i}": _text(part) for i, part in enumerate(parts)}
    if isinstance(value, bool):
        return {bound.html_name: "on"} if value else {}
    if isinstance(value, list | tuple):
        return {bound.html_name: [_text(v) for v in value]}
    return {bound.html_name: _text(value)}


def _text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(getattr(value, "pk", value))


def split_datetime(name: str, at: datetime.datetime) -> dict:
    local = timezone.localtime(at)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}
