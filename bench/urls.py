"""Desk's URLconf plus the baselines under /bench/ (never part of Desk's production URLs)."""

from django.urls import path

from bench import views
from desk.urls import urlpatterns as desk_urlpatterns

urlpatterns = [
    path("bench/ping/", views.ping),
    path("bench/json/", views.trivial_json),
    path("bench/relay/<str:group>/", views.relay),
    *desk_urlpatterns,
]
