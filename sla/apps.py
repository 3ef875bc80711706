from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self):
        from tickets.signals import ticket_changing

        from . import engine

        # Connected here, and sla sits before escalation in INSTALLED_APPS, so this receiver
        # runs first: escalation reads the deadlines it has just computed.
        ticket_changing.connect(engine.on_ticket_changing, dispatch_uid="sla.recompute_deadlines")
        engine.connect_calendar_signals()
