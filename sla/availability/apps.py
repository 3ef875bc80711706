from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AvailabilityConfig(AppConfig):
    name = "sla.availability"
    label = "availability"
    verbose_name = _("Availability and service credits")

    def ready(self):
        from portal.celery import register_beat
        from tickets.signals import ticket_changed

        from . import receivers

        ticket_changed.connect(
            receivers.on_ticket_changed, dispatch_uid="availability.resolution_credit"
        )
        # Cheap sweeps, so they run hourly; each selects only what is due and is idempotent.
        register_beat("availability-expire-credits", "availability.expire_credits", 3600)
        register_beat("availability-close-month", "availability.close_previous_month", 3600)
        register_beat("availability-statements", "availability.send_statements", 3600)
