"""Who gets which ticket: agents' availability, capacity and presence, and routing.

Every rule about it lives here and nowhere else; the header's availability menu, the
Team page, the websocket consumer, the ticket actions and the task worker call these.

- Availability is the agent's choice (online, busy, offline). Presence is a fact: an
  open Desk tab refreshes the agent's `Presence` row while it is connected, in the
  database, so every server process sees the same; an agent not seen for
  DESK_AWAY_AFTER_SECONDS is away.
- An agent is *eligible* for a new ticket when online, present and under capacity.
"""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from desk import realtime
from desk.exceptions import InvalidInput, NotAllowed, NotFound
from desk.models import AgentProfile, Availability, Presence
from desk.selectors import presence_cutoff

logger = logging.getLogger(__name__)

MAX_CAPACITY = 100


# --- profiles ----------------------------------------------------------------------------


def profile_for(agent_id: int) -> AgentProfile:
    """The agent's profile, created with the defaults the first time it is needed."""
    profile = AgentProfile.objects.filter(agent_id=agent_id).first()
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return AgentProfile.objects.create(agent_id=agent_id)
    except IntegrityError:  # a concurrent first use created it
        return AgentProfile.objects.get(agent_id=agent_id)


def agent_set_availability(*, agent: AbstractBaseUser, availability: str) -> AgentProfile:
    """The agent's own choice from the header: online, busy or offline."""
    if availability not in Availability.values:
        raise InvalidInput("Choose online, busy or offline.", field="availability")
    profile = profile_for(agent.pk)
    if profile.availability == availability:
        return profile
    with transaction.atomic():
        AgentProfile.objects.filter(agent_id=agent.pk).update(availability=availability)
        profile.availability = availability
        realtime.announce_agent_status(agent.pk)
    return profile


def agent_set_capacity(
    *, agent_id: object, capacity: object, by: AbstractBaseUser
) -> AgentProfile:
    """An admin sets how many open tickets routing gives the agent at most."""
    if not by.is_staff:
        raise NotAllowed("Only admins can set an agent's capacity.")
    try:
        agent = get_user_model().objects.get(pk=int(agent_id), is_active=True)  # type: ignore[arg-type]
    except (TypeError, ValueError, get_user_model().DoesNotExist):
        raise NotFound("No such agent.") from None
    try:
        value = int(str(capacity).strip())
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_CAPACITY:
        raise InvalidInput(
            f"The capacity is a whole number from 0 to {MAX_CAPACITY}.", field="capacity"
        )
    profile = profile_for(agent.pk)
    if profile.capacity == value:
        return profile
    with transaction.atomic():
        AgentProfile.objects.filter(agent_id=agent.pk).update(capacity=value)
        profile.capacity = value
        realtime.announce_agent_status(agent.pk)
    return profile


# --- presence ------------------------------------------------------------------------------


def presence_arrived(*, agent: AbstractBaseUser) -> bool:
    """A Desk tab of the agent connected. True when the agent was away until now."""
    now = timezone.now()
    if Presence.objects.filter(agent_id=agent.pk, last_seen_at__gte=presence_cutoff(now)).update(
        last_seen_at=now
    ):
        return False
    try:
        with transaction.atomic():
            Presence.objects.update_or_create(agent_id=agent.pk, defaults={"last_seen_at": now})
    except IntegrityError:  # another tab of theirs arrived at the same moment
        Presence.objects.filter(agent_id=agent.pk).update(last_seen_at=now)
    profile_for(agent.pk)
    realtime.announce_agent_status(agent.pk)
    return True


def presence_seen(*, agent_id: int) -> None:
    """An open tab of the agent is still there (its heartbeat), or just closed: the
    agent counts as present for DESK_AWAY_AFTER_SECONDS from now."""
    Presence.objects.filter(agent_id=agent_id).update(last_seen_at=timezone.now())
