from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "tickets.mail"
    label = "mail"
    verbose_name = "Email intake"

    def ready(self):
        from . import webhooks  # noqa: F401 - connects the anymail inbound receiver
