"""System checks of the deployment, run by `manage.py check --deploy`."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_secret_key_is_shared(app_configs, **kwargs):
    if not getattr(settings, "SECRET_KEY_GENERATED", False):
        return []
    return [
        Warning(
            "SECRET_KEY is not set: this host signs with a key generated for it alone.",
            hint="Set SECRET_KEY to one long random value shared by every web and worker host.",
            id="eservice.W001",
        )
    ]
