"""The Django admin lists the team, routing and bot models, and a change saved there has
the effect of the same change on Desk's own pages."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from test_routing import on_shift, set_mode

from desk import services
from desk.models import AgentProfile, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def superuser_client(db) -> Client:
    user = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/django-admin/desk/agentprofile/",
        "/django-admin/desk/presence/",
        "/django-admin/desk/routingsettings/",
        "/django-admin/desk/businesshours/",
        "/django-admin/desk/businesshours/add/",
        "/django-admin/desk/cannedresponse/",
        "/django-admin/desk/cannedresponse/add/",
        "/django-admin/desk/label/",
        "/django-admin/desk/ticketlabel/",
        "/django-admin/desk/labelsettings/",
        "/django-admin/bots/bot/",
        "/django-admin/bots/event/",
    ],
)
def test_the_admin_lists_each_model(superuser_client, connected_bot, agent, path):
    on_shift(agent)
    assert superuser_client.get(path).status_code == 200


def test_raising_a_capacity_in_the_admin_drains_the_queue(
    superuser_client, connected_bot, agent
):
    set_mode("round_robin")
    on_shift(agent, capacity=0)
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="c1")
    assert Ticket.objects.get(pk=ticket.pk).status == "pending"
    profile = AgentProfile.objects.get(agent=agent)
    response = superuser_client.post(
        f"/django-admin/desk/agentprofile/{agent.pk}/change/",
        {"agent": agent.pk, "availability": "online", "capacity": 3,
         "notify_desktop": "on", "notify_sound": "on", "avatar": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert profile.capacity == 3
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_agents_cannot_open_the_admin(agent_client):
    assert agent_client.get("/django-admin/desk/agentprofile/").status_code == 302  # to login
