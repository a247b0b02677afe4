"""The demo webchat (a customer's side of the reference bot)."""

urlpatterns: list = []
