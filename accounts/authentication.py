from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts import tokens


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>` against the hashed, expiring keys of accounts.tokens.

    One query brings the token, its user, organization and contract: every client request
    reads them (tenancy, and the SLA engine when a ticket is opened).
    """

    def authenticate_credentials(self, key):
        token = tokens.find(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)
