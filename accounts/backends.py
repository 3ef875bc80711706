"""Django's username and password sign-in, reading a session's user with its organization."""

from django.contrib.auth.backends import ModelBackend

from .models import User


class UserBackend(ModelBackend):
    """ModelBackend whose session lookup joins the organization: every portal page names it
    in its header, so it comes with the user in one query instead of a second one."""

    def get_user(self, user_id):
        try:
            user = User._default_manager.select_related("organization").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
