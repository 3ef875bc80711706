import os

from django.apps import AppConfig
from django.conf import settings


class MailConfig(AppConfig):
    name = "tickets.mail"
    label = "mail"
    verbose_name = "Email intake"

    def ready(self):
        from portal.celery import register_beat

        from . import webhooks  # noqa: F401 - connects the anymail inbound receiver

        register_beat("mail-redrive-stored", "mail.redrive_stored", 60)

        if getattr(settings, "IMAP_URL", "") or os.environ.get("IMAP_URL"):
            seconds = float(getattr(settings, "IMAP_POLL_SECONDS", 60))
            register_beat("mail-poll-imap", "mail.poll_imap", seconds)
