from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token check, bringing the user's organization and contract in the same query.

    Every client request reads them (tenancy, and the SLA engine when a ticket is opened).
    """

    def authenticate_credentials(self, key):
        try:
            token = (
                self.get_model()
                .objects.select_related("user__organization__contract__plan")
                .get(key=key)
            )
        except self.get_model().DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
