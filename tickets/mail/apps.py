from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "tickets.mail"
    label = "mail"
    verbose_name = "Email intake"
