from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from . import engine

        # Its ticket_changing receiver is connected by the project package (portal.apps),
        # in order with escalation's.
        engine.connect_calendar_signals()
