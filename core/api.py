import base64
import binascii
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ServiceError
from core.paging import Keyset, TwoEndedPaginator, capped_count, is_exact
from core.ratelimit import client_address


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class KeysetPagination(Pagination):
    """`?page=` exactly as before; `?cursor=` keyset pages, which large lists link to.

    A list above the count cap (core.paging) answers its first page with `next` as a
    cursor link: each following page is an index range scan, as fast at the millionth row
    as at the first. `count` is exact up to the cap, the planner's estimate above it.
    """

    cursor_query_param = "cursor"
    invalid_cursor = _("Invalid cursor.")

    def paginate_queryset(self, queryset, request, view=None):
        self.request, self.keyset = request, None
        cursor = request.query_params.get(self.cursor_query_param)
        if cursor is None and self.page_query_param in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        self.count = capped_count(queryset)
        keyset = Keyset.of(queryset)
        if keyset is None or (cursor is None and is_exact(self.count)):
            return super().paginate_queryset(queryset, request, view)
        self.keyset = keyset
        return self._keyset_page(keyset, cursor)

    def django_paginator_class(self, queryset, page_size):
        paginator = TwoEndedPaginator(queryset, page_size)
        if hasattr(self, "count"):
            paginator.__dict__["count"] = self.count  # counted once per request
        return paginator

    def _keyset_page(self, keyset, cursor):
        position, backwards = self._decode(cursor) if cursor else (None, False)
        size = self.get_page_size(self.request)
        try:
            rows, more = keyset.rows(position, size, backwards)
        except (DjangoValidationError, ValueError, TypeError):
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor]}) from None
        has_next = more or backwards
        has_previous = position is not None and bool(rows) and (more or not backwards)
        self.next_position = keyset.position(rows[-1]) if rows and has_next else None
        self.previous_position = keyset.position(rows[0]) if has_previous else None
        return rows

    def _decode(self, cursor: str):
        try:
            value, pk, backwards = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if not isinstance(pk, int) or not isinstance(backwards, bool):
                raise ValueError
        except (ValueError, TypeError, binascii.Error, UnicodeError):
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor]}) from None
        return (value, pk), backwards

    def _link(self, position, backwards: bool):
        if position is None:
            return None
        token = base64.urlsafe_b64encode(json.dumps([*position, backwards]).encode()).decode()
        if self.request is None:  # set by paginate_queryset() before any link is made
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, token)

    def get_paginated_response(self, data):
        if self.keyset is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": self.count,
                "next": self._link(self.next_position, False),
                "previous": self._link(self.previous_position, True),
                "results": data,
            }
        )

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": self.cursor_query_param,
            "required": False,
            "in": "query",
            "description": str(_("A position from a next/previous link (large lists).")),
            "schema": {"type": "string"},
        }
        return [*super().get_schema_operation_parameters(view), cursor]


class ClientScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, keyed by core.ratelimit.client_address(): X-Forwarded-For
    counts only from TRUSTED_PROXIES (DRF's own key takes the header from anyone)."""

    def get_ident(self, request):
        return client_address(request)


def exception_handler(exc, context):
    """DRF's handler, plus service and model validation errors as 4xx JSON naming the field."""
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down or hangs (its time-outs fired): retry later, not a 500.
        response = Response(
            {"detail": "The service is temporarily unavailable; try again shortly."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = "30"
        return response
    if isinstance(exc, ServiceError):
        response = Response(exc.as_dict(), status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
