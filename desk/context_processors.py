"""What every page's header shows beside the agent's name: their own availability."""

from django.http import HttpRequest

from desk.models import AgentProfile, Availability


def availability(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    chosen = (
        AgentProfile.objects.filter(agent_id=user.pk).values_list("availability", flat=True).first()
    )
    return {
        "my_availability": chosen or Availability.ONLINE,
        "availability_choices": Availability.choices,
    }
