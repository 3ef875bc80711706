"""Inbound webhooks of email services (django-anymail): the same store() then process().

Mounted by tickets/mail/urls.py (anymail's inbound URLs, e.g. /mail/anymail/mailgun/inbound/).
"""

import logging

from anymail.signals import inbound
from django.dispatch import receiver

log = logging.getLogger("tickets.mail")


@receiver(inbound, dispatch_uid="tickets.mail.inbound")
def handle_inbound(sender, event, esp_name, **kwargs):
    from .pipeline import process
    from .store import store

    message = event.message
    envelope_to = [message.envelope_recipient] if message.envelope_recipient else []
    stored, _ = store(message.as_bytes(), message.envelope_sender or "", envelope_to)
    processed = process(stored.pk)
    log.info("webhook %s key=%s status=%s", esp_name, processed.key, processed.status)
