import sys
from concurrent.futures import ThreadPoolExecutor, wait

from django.db import InterfaceError, OperationalError, connection, connections
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.template import loader
from django.templatetags.static import static
from django.views import defaults

from tickets.mail.redrive import backlog_status

from .celery import app as celery_app

# /health/ answers within 2 seconds whatever hangs (spec 8): the checks run side by side in
# threads and whatever has not answered by then is reported as a time-out.
HEALTH_DEADLINE_SECONDS = 1.5
_health_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


def _in_own_connection(check):
    """Health checks run in pool threads: each closes its thread's connection after itself."""

    def run():
        try:
            return check()
        finally:
            connections.close_all()

    return run


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        # kombu's stub says int; the timeout is seconds as a float all the same.
        conn.ensure_connection(max_retries=1, timeout=HEALTH_DEADLINE_SECONDS)  # type: ignore[arg-type]
    return "ok"


def _check_mail_backlog() -> str:
    return backlog_status()


HEALTH_CHECKS = {
    "database": _in_own_connection(_check_database),
    "broker": _check_broker,
    "mail_backlog": _in_own_connection(_check_mail_backlog),
}


def _outcome(future) -> str:
    if not future.done():
        return "error: timeout"
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return f"error: {exc.__class__.__name__}"


def health(request):
    """Load balancers' probe: 200 while the database and the broker answer, else 503.

    A mail backlog (a stored message waiting longer than MAIL_BACKLOG_ALERT_SECONDS) makes the
    status "degraded" but stays 200: the site still serves, and taking it out of rotation
    would not clear the backlog. Monitoring reads the body's "status" and "mail_backlog".
    """
    futures = {name: _health_pool.submit(check) for name, check in HEALTH_CHECKS.items()}
    wait(futures.values(), timeout=HEALTH_DEADLINE_SECONDS)
    checks = {name: _outcome(future) for name, future in futures.items()}
    serving = checks["database"] == "ok" and checks["broker"] == "ok"
    if not serving:
        state = "error"
    else:
        state = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return JsonResponse({"status": state, **checks}, status=200 if serving else 503)


def database_unavailable(request) -> HttpResponse:
    """503 while the database cannot be reached: JSON under /api/, else the styled page,
    rendered without the request's context (the signed-in user is in the database too)."""
    return service_unavailable(request, retry_after=30)


def not_found(request, exception=None):
    """API clients get JSON errors everywhere under /api/, even for a path that does not exist."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    # Django calls this inside the except block of whatever failed, views and middleware alike.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return _page_without_database(request, "500.html", 500)


def service_unavailable(request, retry_after: int = 60):
    """The styled 503 (JSON under /api/), for code that finds the database down."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": "Service temporarily unavailable."}, status=503)
    else:
        response = _page_without_database(request, "503.html", 503)
    response["Retry-After"] = str(retry_after)
    return response


def _page_without_database(request, template_name: str, status: int) -> HttpResponse:
    """Render an error page with no context processor: nothing may touch the database
    (no user, no session), yet the language switch keeps a valid CSRF token (a cookie)."""
    try:
        html = loader.get_template(template_name).render({"csrf_token": get_token(request)})
    except Exception:  # noqa: BLE001 - an error page must not fail in turn
        html = "<h1>Server Error</h1>"
    return HttpResponse(html, status=status)


def favicon(request):
    """/favicon.ico for pages without a <link rel="icon"> (the admin, raw files): the
    portal's icon instead of a 404 in every browser console."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
