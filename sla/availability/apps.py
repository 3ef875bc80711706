from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AvailabilityConfig(AppConfig):
    name = "sla.availability"
    label = "availability"
    verbose_name = _("Availability and service credits")

    def ready(self):
        from portal.celery import register_beat

        # Resolution credits consume the domain event stream (registered in portal.apps).
        # Cheap sweeps, so they run hourly; each selects only what is due and is idempotent.
        register_beat("availability-expire-credits", "availability.expire_credits", 3600)
        register_beat("availability-close-month", "availability.close_previous_month", 3600)
        register_beat("availability-statements", "availability.send_statements", 3600)
