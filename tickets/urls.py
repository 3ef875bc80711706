from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<str:reference>/", views.ticket_detail, name="detail"),
    path("tickets/<str:reference>/confirm/", views.ticket_confirm, name="confirm"),
    path("tickets/<str:reference>/reopen/", views.ticket_reopen, name="reopen"),
    path("tickets/<str:reference>/rate/", views.ticket_rate, name="rate"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("attachments/<int:pk>/view/", views.attachment_preview, name="attachment_preview"),
    path("contact/", views.contact, name="contact"),
]
