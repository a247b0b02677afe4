"""The demo webchat (a customer's side of the reference bot) and the bot's webhook."""

from django.urls import path

from bots.demo import views

urlpatterns = [
    path("", views.start, name="demo"),
    path("c/<uuid:chat_id>/", views.chat_page, name="demo-chat"),
    path("c/<uuid:chat_id>/send", views.send, name="demo-send"),
    path("c/<uuid:chat_id>/lines", views.lines, name="demo-lines"),
    path("c/<uuid:chat_id>/rate", views.rate, name="demo-rate"),
    path("c/<uuid:chat_id>/upload", views.upload, name="demo-upload"),
    path("c/<uuid:chat_id>/files/<int:line_id>/<int:index>", views.line_file,
         name="demo-file"),
    path("webhook/", views.webhook, name="demo-webhook"),
]
