from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and people"

    def ready(self):
        from django.contrib import admin

        from . import throttle  # noqa: F401 - counts failed sign-ins (user_login_failed)
        from .forms import AdminLoginForm

        admin.site.login_form = AdminLoginForm
