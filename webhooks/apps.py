import os

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import pgettext_lazy


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = pgettext_lazy("webhooks", "Webhooks")

    def ready(self):
        from portal.celery import register_beat

        from .models import WebhookEndpoint
        from .services import invalidate_endpoints

        # emit() caches who subscribes; any change to an endpoint drops that cache here.
        post_save.connect(invalidate_endpoints, sender=WebhookEndpoint, dispatch_uid="wh_ep_s")
        post_delete.connect(invalidate_endpoints, sender=WebhookEndpoint, dispatch_uid="wh_ep_d")
        # Every 30 s, so a first retry (due 30 s after a failure) goes out within a minute.
        seconds = float(os.environ.get("WEBHOOK_REDRIVE_SECONDS", "30"))
        register_beat("webhook-redrive", "webhooks.tasks.redrive", seconds)
        register_beat("webhook-prune", "webhooks.tasks.prune", 3600)
