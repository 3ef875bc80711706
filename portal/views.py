from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template import loader
from django.views import defaults

from .celery import app as celery_app


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def health(request):
    """Liveness for load balancers: 200 when the database and the broker answer, else 503."""
    checks = {}
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            checks[name] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    return JsonResponse(body, status=200 if healthy else 503)


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
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return _page_without_database(request, "500.html", 500)


def service_unavailable(request, retry_after: int = 60):
    """The styled 503 (JSON under /api/), for code that finds the database down."""
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
