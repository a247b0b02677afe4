"""How Desk names people: an agent's display name, and {agentName} in a bot's messages.

A display helper shared by the write path (system lines, event payloads) and the
pages (fragments, templates); it reads nothing and writes nothing.
"""

from django.contrib.auth.models import AbstractBaseUser


def display_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def fill_agent_name(text: str, agent: AbstractBaseUser | None) -> str:
    """Bots may write {agentName} in their messages; Desk fills it in."""
    return text.replace("{agentName}", display_name(agent) or "a support agent")
