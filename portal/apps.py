from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "eService portal"

    def ready(self):
        from notifications.fanout import consume
        from tickets.events import register_consumer

        from . import checks  # noqa: F401 - registers the deployment checks

        # The consumers of the domain event stream, in this order (tickets.events).
        register_consumer(consume)
