from django.urls import path

from . import api, views

app_name = "escalation"

# Portal, included at the site root: path("", include("escalation.urls")).
urlpatterns = [
    path("tickets/<str:reference>/escalate/", views.escalate, name="escalate"),
]

# API, spliced into portal/api_urls.py's urlpatterns (under /api/v1/), before the router.
api_urlpatterns = [
    path(
        "tickets/<str:reference>/escalations/",
        api.TicketEscalationsView.as_view(),
        name="escalation-list",
    ),
    path(
        "tickets/<str:reference>/escalate/",
        api.EscalateView.as_view(),
        name="escalation-request",
    ),
]
