from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "eService portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from escalation.receivers import page_oncall
        from notifications.fanout import consume
        from sla.availability.receivers import resolution_credits
        from tickets.events import register_consumer

        from . import checks  # noqa: F401 - registers the deployment checks
        from .timezones import remember_timezone

        # The consumers of the domain event stream, in this order (tickets.events). The
        # last two defer their work until the change commits.
        register_consumer(consume)  # notifications and webhooks
        register_consumer(resolution_credits)  # sla.availability
        register_consumer(page_oncall)  # escalation: off-hours P0 pages
        user_logged_in.connect(remember_timezone, dispatch_uid="portal.remember_timezone")
