from django.conf import settings


def site(request):
    return {"SITE_NAME": "eService", "SUPPORT_PHONE_NUMBERS": settings.SUPPORT_PHONE_NUMBERS}
