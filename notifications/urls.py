from django.urls import path

from . import api, views

app_name = "notifications"

# Portal, included at the site root.
urlpatterns = [
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("account/notifications/", views.preferences, name="preferences"),
    path("tickets/<str:reference>/watchers/", views.add_watcher, name="watch"),
    path(
        "tickets/<str:reference>/watchers/<int:pk>/remove/",
        views.remove_watcher,
        name="unwatch",
    ),
]

# API, spliced into portal/api_urls.py's urlpatterns (under /api/v1/), before the router.
api_urlpatterns = [
    path("tickets/<str:reference>/watchers/", api.WatchersView.as_view(), name="watcher-list"),
    path(
        "tickets/<str:reference>/watchers/<int:pk>/",
        api.WatcherView.as_view(),
        name="watcher-detail",
    ),
]
