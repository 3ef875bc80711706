from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import pgettext_lazy


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = pgettext_lazy("webhooks", "Webhooks")

    def ready(self):
        from .models import WebhookEndpoint
        from .services import invalidate_endpoints

        # emit() caches who subscribes; any change to an endpoint drops that cache here.
        post_save.connect(invalidate_endpoints, sender=WebhookEndpoint, dispatch_uid="wh_ep_s")
        post_delete.connect(invalidate_endpoints, sender=WebhookEndpoint, dispatch_uid="wh_ep_d")
