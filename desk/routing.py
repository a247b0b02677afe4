"""Websocket URL routes."""

websocket_urlpatterns: list = []
