from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and people"

    def ready(self):
        from django.contrib import admin

        # throttle counts failed sign-ins (user_login_failed); tokens forgets the tokens it
        # keeps when what they bring changes (model signals).
        from . import throttle, tokens  # noqa: F401
        from .forms import AdminLoginForm

        admin.site.login_form = AdminLoginForm
