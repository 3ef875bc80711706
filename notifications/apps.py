from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from django.conf import settings

        from portal.celery import register_beat

        # Re-drives what is due: a broker outage delays mail, never loses it.
        register_beat(
            "notifications-redrive",
            "notifications.tasks.redrive",
            settings.NOTIFICATIONS_REDRIVE_SECONDS,
        )
