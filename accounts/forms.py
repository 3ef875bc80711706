"""Sign-in forms of the portal and the admin, with the shared throttle (accounts.throttle)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from . import throttle


def throttled_error(exc: throttle.Throttled) -> ValidationError:
    minutes = max(1, -(-exc.retry_after // 60))
    message = ngettext(
        "Too many attempts. For your security, try again in %(minutes)d minute.",
        "Too many attempts. For your security, try again in %(minutes)d minutes.",
        minutes,
    )
    return ValidationError(message, code="throttled", params={"minutes": minutes})


class ThrottledLoginMixin:
    def clean(self):
        try:
            throttle.check_sign_in(self.request, self.data.get("username", ""))
        except throttle.Throttled as exc:
            raise throttled_error(exc) from None
        return super().clean()


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    """Django's view; each request counts against the reset limits before a mail goes out."""

    def form_valid(self, form):
        try:
            throttle.check_password_reset(self.request, form.cleaned_data["email"])
        except throttle.Throttled as exc:
            form.add_error(None, throttled_error(exc))
            return self.form_invalid(form)
        return super().form_valid(form)
