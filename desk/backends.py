"""How Django reads the signed-in agent on each request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class AgentBackend(ModelBackend):
    """Django's model backend, reading the agent's profile with their account: every
    page needs both (the locale middleware, the header's availability and alerts), one
    query instead of two."""

    def get_user(self, user_id):
        users = get_user_model()._default_manager.select_related("desk_profile")
        user = users.filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
