from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.throttle import client_address
from portal.errors import ServiceError


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class ClientScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, keyed by accounts.throttle.client_address(): X-Forwarded-For
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
