"""Include at /mail/: inbound webhooks of email services (e.g. /mail/anymail/mailgun/inbound/)."""

from django.urls import re_path

from .webhooks import inbound_webhook

urlpatterns = [
    re_path(
        r"^anymail/(?P<esp>[a-z_]{1,40})/(?P<kind>inbound(?:_mime)?)/$",
        inbound_webhook,
        name="mail-inbound-webhook",
    ),
]
