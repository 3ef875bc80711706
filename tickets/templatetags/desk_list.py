"""``{% desk_result_list cl %}``: the admin's ``{% result_list %}`` for the ticket desk, with
the per-column work done once per page instead of once per cell.

Django's ``items_for_result`` looks each column up, asks for the empty-value text, reverses
the change URL and resolves it again for the preserved filters, for every one of the page's
cells. The desk renders 50 rows × 9 columns, so that bookkeeping cost more than the cells
themselves. Here each column is planned once (field or callable, CSS classes, link or not),
the change URL is built once and only the row's pk changes, and each cell is one string
format. The markup is the same as Django's; list-editable pages fall back to Django's code.
"""

import datetime

from django import template
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    display_for_field,
    display_for_value,
    lookup_field,
    quote,
)
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch
from django.utils.encoding import iri_to_uri
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe

register = template.Library()

# A pk no page holds: the change URL is reversed once with it, then split around it.
URL_SENTINEL = "9137046285193"
NOWRAP_FIELDS = (models.DateField, models.TimeField, models.ForeignKey)


class Column:
    """One list_display entry, planned from the page's first row.

    A choice field's label and a foreign key's text are worked out once per distinct value
    on the page (the desk shows five statuses and a score of agents over 50 rows); every
    cell is then one string join of already escaped parts.
    """

    def __init__(self, cl, index: int, name: str, sample, link: bool, first_link: bool):
        self.name = name
        self.model_admin = cl.model_admin
        self.field, attr, _value = lookup_field(name, sample, cl.model_admin)
        self.method = attr if self.field is None and hasattr(cl.model_admin, name) else None
        self.empty = getattr(attr, "empty_value_display", cl.model_admin.get_empty_value_display())
        self.boolean = getattr(attr, "boolean", False)
        if isinstance(attr, property) and hasattr(attr, "fget"):
            self.boolean = getattr(attr.fget, "boolean", False)
        self.link = link
        self.seen: dict = {}  # value -> escaped text, for choice and foreign-key columns
        model_field = self.field is not None and not self.field.auto_created
        self.keyed_field = _keyed_field(self.field)
        self._tags(cl, index, "th" if first_link else "td", model_field)

    def _tags(self, cl, index: int, tag: str, model_field: bool) -> None:
        # A private helper of Django's, missing from the stubs.
        css = f"field-{admin_list._coerce_field_name(self.name, index)}"  # type: ignore[attr-defined]
        if self.name == "action_checkbox" and self.field is None:
            css = "action-checkbox"
        nowrap = " nowrap" if model_field and isinstance(self.field, NOWRAP_FIELDS) else ""
        self.open = f'<{tag} class="{css}{nowrap}">'
        self.open_dated = f'<{tag} class="{css} nowrap">'
        self.close = f"</{tag}>"

    def value(self, obj):
        if self.field is not None:
            return self.field, getattr(obj, self.name)
        if self.method is not None:
            return None, self.method(obj)
        field, _attr, value = lookup_field(self.name, obj, self.model_admin)
        return field, value

    def cell(self, obj, url: str | None) -> str:
        """The cell's markup; `url` is already escaped."""
        opening = self.open
        if self.keyed_field is not None:
            text = self._keyed_text(obj, self.keyed_field)
        else:
            try:
                field, value = self.value(obj)
            except ObjectDoesNotExist:
                text = conditional_escape(self.empty)
            else:
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                text, dated = self._display(field, obj, value)
                text = conditional_escape(text)
                opening = self.open_dated if dated else opening
        if url is not None:
            text = f'<a href="{url}">{text}</a>'
        return mark_safe(f"{opening}{text}{self.close}")  # noqa: S308 - every part is escaped

    def _keyed_text(self, obj, field: models.Field) -> str:
        key = getattr(obj, field.attname)
        text = self.seen.get(key)
        if text is None:
            _field, value = self.value(obj)
            text = conditional_escape(self._display(field, obj, value)[0])
            self.seen[key] = text
        return text

    def _display(self, field, obj, value):
        """(text, whether a date/time makes the cell nowrap) as Django's items_for_result."""
        if field is None or field.auto_created:
            nowrap = isinstance(value, (datetime.date, datetime.time))
            return display_for_value(value, self.empty, self.boolean), nowrap
        if isinstance(field.remote_field, models.ManyToOneRel):
            related = getattr(obj, field.name)
            text = self.empty if related is None else related
        else:
            text = display_for_field(value, field, self.empty, avoid_link=self.link)
        return text, False


def _keyed_field(field: models.Field | None) -> models.Field | None:
    """The model field of a choice or foreign-key column, whose text is worked out once per
    distinct value; None for other columns."""
    if field is None or field.auto_created:
        return None
    return field if field.is_relation or field.flatchoices else None


def change_url(cl):
    """A function pk → the row's change URL with the page's filters preserved."""
    try:
        sample = cl.url_for_result(_Pk(cl.pk_attname))
    except NoReverseMatch:
        return lambda pk: None
    context = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}
    url = escape(add_preserved_filters(context, sample))
    before, _, after = url.partition(URL_SENTINEL)
    return lambda pk: f"{before}{escape(quote(pk))}{after}"


class _Pk:
    def __init__(self, attname):
        setattr(self, attname, URL_SENTINEL)


def plan(cl, sample) -> list[Column]:
    links = cl.list_display_links
    columns, first = [], True
    for index, name in enumerate(cl.list_display):
        link = links is not None and (name in links or (first and not links))
        columns.append(Column(cl, index, name, sample, link, link and first))
        first = first and not link
    return columns


def fast_results(cl) -> list:
    if cl.formset or cl.is_popup or cl.to_field or not cl.result_list:
        return list(admin_list.results(cl))
    columns = plan(cl, cl.result_list[0])
    url_for = change_url(cl)
    rows = []
    for obj in cl.result_list:
        url = url_for(getattr(obj, cl.pk_attname))
        cells = [c.cell(obj, url if c.link else None) for c in columns]
        rows.append(admin_list.ResultList(None, cells))
    return rows


@register.filter
def filter_items(choices) -> str:
    """A list filter's items as admin/filter.html writes them, for filters with hundreds."""
    items = []
    for choice in choices:
        selected = ' class="selected"' if choice["selected"] else ""
        href = escape(iri_to_uri(choice["query_string"]))
        items.append(
            f'<li{selected}><a href="{href}">{conditional_escape(choice["display"])}</a></li>'
        )
    return mark_safe("\n".join(items))  # noqa: S308 - every part is escaped


@register.inclusion_tag("admin/change_list_results.html")
def desk_result_list(cl):
    """Django's result_list context, with the rows built by fast_results."""
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": fast_results(cl),
    }
