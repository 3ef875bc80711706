"""Response headers and error pages that every view shares."""

from django.conf import settings
from django.utils import translation


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY (scripts only from the site itself: an injected
    <script> or inline handler does not run) unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class UserLanguageMiddleware:
    """The portal speaks the signed-in user's language (User.language) until they pick another.

    Django 5 reads the language from the URL, the language cookie, then Accept-Language; it no
    longer reads the session. So, for a signed-in user without a language cookie, this activates
    their saved preference and sets the cookie: from then on LocaleMiddleware finds it, and the
    language switcher (set_language, which rewrites the cookie) wins. Place it after
    AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = self._preference(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
        return response

    def _preference(self, request) -> str | None:
        if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        language = (getattr(user, "language", "") or "").lower()
        return language if language in self.supported else None
