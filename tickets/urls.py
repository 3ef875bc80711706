from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<str:reference>/", views.ticket_detail, name="detail"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("contact/", views.contact, name="contact"),
]
