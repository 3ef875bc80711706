"""Include at /mail/: anymail's inbound webhooks (e.g. /mail/anymail/mailgun/inbound/)."""

from django.urls import include, path

urlpatterns = [
    path("anymail/", include("anymail.urls")),
]
