"""Portal pages, included by portal/urls.py: path("", include("sla.availability.urls"))."""

import datetime

from django.urls import path, register_converter

from . import views


class MonthConverter:
    regex = r"\d{4}-\d{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str | datetime.date) -> str:
        return value if isinstance(value, str) else f"{value:%Y-%m}"


register_converter(MonthConverter, "yyyymm")

app_name = "availability"

urlpatterns = [
    path("status/", views.status, name="status"),
    path("credits/", views.credits, name="credits"),
    path("credits/<int:pk>/claim/", views.claim, name="claim"),
    path("statements/<yyyymm:month>/", views.statement_html, name="statement"),
    path("statements/<yyyymm:month>.pdf", views.statement_pdf, name="statement_pdf"),
]
