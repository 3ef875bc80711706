from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "eService portal"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from escalation.receivers import page_oncall, set_next_check
        from notifications.fanout import consume
        from sla.availability.receivers import resolution_credits
        from sla.engine import on_ticket_changing
        from tickets.events import register_consumer
        from tickets.signals import ticket_changing

        from . import checks  # noqa: F401 - registers the deployment checks
        from .timezones import remember_timezone

        # Before a ticket write, in this order: the SLA engine recomputes the deadlines, then
        # escalation reads them to set the next check.
        ticket_changing.connect(on_ticket_changing, dispatch_uid="sla.recompute_deadlines")
        ticket_changing.connect(set_next_check, dispatch_uid="escalation_next_check")
        # The consumers of the domain event stream, in this order (tickets.events). The
        # last two defer their work until the change commits.
        register_consumer(consume)  # notifications and webhooks
        register_consumer(resolution_credits)  # sla.availability
        register_consumer(page_oncall)  # escalation: off-hours P0 pages
        user_logged_in.connect(remember_timezone, dispatch_uid="portal.remember_timezone")
