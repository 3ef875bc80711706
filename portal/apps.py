from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "eService portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from notifications.fanout import consume
        from tickets.events import register_consumer

        from . import checks  # noqa: F401 - registers the deployment checks
        from .timezones import remember_timezone

        # The consumers of the domain event stream, in this order (tickets.events).
        register_consumer(consume)
        user_logged_in.connect(remember_timezone, dispatch_uid="portal.remember_timezone")
