from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "eService portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .timezones import remember_timezone

        user_logged_in.connect(remember_timezone, dispatch_uid="portal.remember_timezone")
