from django.apps import AppConfig


class AvailabilityConfig(AppConfig):
    name = "sla.availability"
    label = "availability"
    verbose_name = "Availability and service credits"
