"""The waiting customer's place in line: startHitl answers it, the bot hears hitlQueued
as the line moves (throttled, the last place always sent), with an estimate from the
bot's measured waits, and outside business hours the bot's outsideHoursMessage."""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from test_routing import on_shift, set_mode

from bots.models import Event
from bots.services import bot_deploy, bot_set_connected
from desk import assignment, queue, selectors, services
from desk.models import AgentProfile, BusinessHours, Presence, RoutingSettings, Ticket

pytest_plugins = ["webhook_receiver"]  # the worker fixture
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_queue_update_pending():
    """No flag left in the process's cache by an earlier test's queued update."""
    cache.clear()

START = "/api/v1/bots/support-bot/startHitl"


def start(bot_api, conversation_id: str, **fields) -> dict:
    response = bot_api.post(START, {"conversationId": conversation_id, **fields})
    assert response.status_code == 201, response.content
    return response.json()


def queued_events(bot_api, conversation_id: str | None = None) -> list[dict]:
    """The bot's hitlQueued events as long-poll hands them out, oldest first."""
    events = bot_api.get("/api/v1/bots/support-bot/events?after=0&limit=500").json()["events"]
    return [
        e for e in events
        if e["type"] == "hitlQueued"
        and (conversation_id is None or e["conversationId"] == conversation_id)
    ]


def with_known_waits(bot, seconds: list[int], *, days_ago: float = 0) -> None:
    """Tickets of `bot` that waited exactly these many seconds for their first agent."""
    now = timezone.now() - timedelta(days=days_ago)
    for n, wait in enumerate(seconds):
        ticket, _ = services.start_hitl(bot=bot, conversation_id=f"past-{days_ago}-{n}")
        services.stop_hitl(bot=bot, conversation_id=ticket.conversation_id)
        created = now - timedelta(seconds=wait + n)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=created, first_assigned_at=created + timedelta(seconds=wait)
        )


# --- startHitl's answer -----------------------------------------------------------------------


def test_start_hitl_answers_each_waiting_ticket_its_place_in_line(connected_bot, bot_api):
    first = start(bot_api, "c1")
    second = start(bot_api, "c2")
    assert (first["queuePosition"], second["queuePosition"]) == (1, 2)
    assert first["agentsAvailable"] == 0
    assert first["estimatedWaitSeconds"] is None  # no measured waits yet
    assert first["withinBusinessHours"] is True
    # A more urgent ticket goes ahead of both.
    assert start(bot_api, "c3", priority="urgent")["queuePosition"] == 1
    # Asking again for an open ticket answers its place now (200).
    again = bot_api.post(START, {"conversationId": "c2"})
    assert again.status_code == 200
    assert again.json()["queuePosition"] == 3


def test_an_assigned_ticket_has_no_place_in_line(connected_bot, bot_api, agent, other_agent):
    set_mode("least_busy")
    on_shift(agent, capacity=1)
    on_shift(other_agent, capacity=2)
    answers = [start(bot_api, f"c{n}") for n in (1, 2, 3)]
    assert [a["status"] for a in answers] == ["assigned"] * 3
    assert [a["queuePosition"] for a in answers] == [None] * 3
    # Who still has room once it is assigned: Sam (0/2, Maya 1/1), Sam (1/2), nobody.
    assert [a["agentsAvailable"] for a in answers] == [1, 1, 0]
    waiting = start(bot_api, "c4")
    assert (waiting["status"], waiting["queuePosition"], waiting["agentsAvailable"]) == (
        "pending", 1, 0
    )


def test_agents_available_counts_only_online_present_agents_with_room(
    connected_bot, bot_api, agent, other_agent
):
    on_shift(agent, other_agent)  # manual routing: they could take it, nobody is given it
    assert start(bot_api, "c1")["agentsAvailable"] == 2
    assignment.agent_set_availability(agent=other_agent, availability="busy")
    assert start(bot_api, "c2")["agentsAvailable"] == 1


def test_the_staffing_figures_follow_each_agents_status_capacity_and_load(
    connected_bot, bot_api
):
    """startHitl's figures come from plain SQL: the same agents as the desk's own rule
    (`agents_with_status`) calls online, and of those the ones with room."""
    User = get_user_model()
    cast = {name: User.objects.create_user(username=name) for name in "abcdefgh"}
    for name in "abdefgh":
        on_shift(cast[name], capacity=2 if name == "a" else 1)
    Presence.objects.create(agent=cast["c"], last_seen_at=timezone.now())  # no profile
    AgentProfile.objects.filter(agent=cast["d"]).update(availability="busy")
    AgentProfile.objects.filter(agent=cast["e"]).update(availability="offline")
    long_ago = timezone.now() - timedelta(seconds=settings.DESK_AWAY_AFTER_SECONDS + 5)
    Presence.objects.filter(agent=cast["f"]).update(last_seen_at=long_ago)  # away
    User.objects.filter(pk=cast["g"].pk).update(is_active=False)
    for n, (name, status) in enumerate(
        [("a", "assigned"), ("b", "waiting"), ("h", "closed"), ("a", "closed")]
    ):
        ticket, _ = services.start_hitl(bot=connected_bot, conversation_id=f"load-{n}")
        Ticket.objects.filter(pk=ticket.pk).update(status=status, assignee=cast[name])
    # Online: a (1 of 2), b (full: a waiting ticket counts), c (no profile: online, room
    # for the default 5), h (a closed ticket does not count); not d, e, f, g.
    assert queue.staffing() == (4, 3)
    rule = selectors.agents_with_status(load=True).filter(status="online")
    assert queue.staffing() == (
        rule.count(), sum(a.load < a.capacity for a in rule)
    )
    assert start(bot_api, "c1")["agentsAvailable"] == 3


# --- the estimate -------------------------------------------------------------------------------


def test_the_estimate_is_the_median_wait_per_round_of_agents_ahead(
    connected_bot, bot_api, agent, other_agent
):
    with_known_waits(connected_bot, [60, 120, 180, 600])  # median 150 s
    with_known_waits(connected_bot, [5000, 5000, 5000, 5000], days_ago=8)  # too old
    bot_deploy(bot_id="other-bot", api_key=None, name="Other")
    other_bot = bot_set_connected(bot_id="other-bot", connected=True)
    with_known_waits(other_bot, [9000, 9000, 9000])  # another bot's customers
    on_shift(agent, other_agent)
    # Two agents online: positions 1 and 2 are the first round, 3 the second.
    answers = [start(bot_api, f"c{n}") for n in range(1, 4)]
    assert [a["queuePosition"] for a in answers] == [1, 2, 3]
    assert [a["estimatedWaitSeconds"] for a in answers] == [150, 150, 300]


def test_the_estimate_formula_on_its_own():
    assert queue.estimate_wait(waits=[10, 20, 30], position=1, agents_online=1) == 20
    assert queue.estimate_wait(waits=[10, 20, 30], position=4, agents_online=1) == 80
    assert queue.estimate_wait(waits=[10, 20, 30, 40], position=5, agents_online=2) == 75
    assert queue.estimate_wait(waits=[10, 20], position=1, agents_online=1) is None
    assert queue.estimate_wait(waits=[10, 20, 30], position=1, agents_online=0) is None


def test_no_estimate_while_nobody_is_online(connected_bot, bot_api):
    with_known_waits(connected_bot, [60, 120, 180])
    assert start(bot_api, "c1")["estimatedWaitSeconds"] is None


# --- hitlQueued ---------------------------------------------------------------------------


def test_the_answer_counts_as_telling_the_bot_its_place(connected_bot, bot_api):
    start(bot_api, "c1")
    start(bot_api, "c2")
    assert queued_events(bot_api) == []  # startHitl's answer said 1 and 2; nothing moved


def test_a_waiting_customers_bot_hears_its_new_place_with_its_queued_message(
    connected_bot, bot_api, agent
):
    start(bot_api, "c1")
    start(bot_api, "c2")
    services.ticket_claim(ticket_id=Ticket.objects.get(conversation_id="c1").pk, agent=agent)
    queue.send_updates(now=timezone.now() + timedelta(seconds=30))
    [event] = queued_events(bot_api, "c2")
    assert event["queuePosition"] == 1
    assert event["withinBusinessHours"] is True
    assert event["agentsAvailable"] == 0
    assert event["message"] == (
        "You are number 1 in line. An agent will be with you shortly."
    )
    assert event["ticketNumber"] == Ticket.objects.get(conversation_id="c2").number


def test_the_queued_message_is_the_bots_own(connected_bot, bot_api, agent):
    response = bot_api.put(
        "/api/v1/bots/support-bot",
        {"queuedMessage": "Hang on! {queuePosition} ahead of you, counting you."},
    )
    assert response.json()["queuedMessage"].startswith("Hang on!")
    start(bot_api, "c1")
    start(bot_api, "c2")
    services.ticket_claim(ticket_id=Ticket.objects.get(conversation_id="c1").pk, agent=agent)
    queue.send_updates(now=timezone.now() + timedelta(seconds=30))
    assert queued_events(bot_api)[0]["message"] == "Hang on! 1 ahead of you, counting you."


def test_an_auto_assigned_ticket_gets_no_hitl_queued(connected_bot, bot_api, agent):
    set_mode("round_robin")
    on_shift(agent)
    start(bot_api, "c1")
    assert queued_events(bot_api) == []


@pytest.mark.slow
def test_the_line_moving_tells_each_waiting_bot_its_new_place(
    connected_bot, bot_api, agent, worker, settings
):
    settings.DESK_QUEUE_UPDATE_SECONDS = 0
    tickets = [start(bot_api, f"c{n}") for n in range(1, 4)]
    services.ticket_claim(ticket_id=tickets[0]["number"], agent=agent)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        places = {c: [e["queuePosition"] for e in queued_events(bot_api, c)] for c in ("c2", "c3")}
        if places == {"c2": [1], "c3": [2]}:
            break
        time.sleep(0.05)
    assert places == {"c2": [1], "c3": [2]}
    assert queued_events(bot_api, "c1") == []  # assigned: no place in line


@pytest.mark.slow
def test_updates_wait_out_the_interval_and_the_last_place_is_always_sent(
    connected_bot, bot_api, agent, worker, settings
):
    settings.DESK_QUEUE_UPDATE_SECONDS = 2
    tickets = [start(bot_api, f"c{n}") for n in range(1, 5)]
    told_at = time.monotonic()
    services.ticket_claim(ticket_id=tickets[0]["number"], agent=agent)
    time.sleep(0.3)
    services.ticket_claim(ticket_id=tickets[1]["number"], agent=agent)
    time.sleep(0.5)
    # Told 4 a moment ago (startHitl's answer): held back, however often the line moves.
    assert queued_events(bot_api, "c4") == []
    deadline = told_at + 8
    while time.monotonic() < deadline:
        places = [e["queuePosition"] for e in queued_events(bot_api, "c4")]
        if places:
            break
        time.sleep(0.05)
    assert places == [2]  # one update, with the place of its moment
    assert time.monotonic() - told_at >= 1.9
    time.sleep(2.5)
    assert [e["queuePosition"] for e in queued_events(bot_api, "c4")] == [2]


def test_a_closed_waiting_ticket_moves_the_others_up(connected_bot, bot_api, settings):
    settings.DESK_QUEUE_UPDATE_SECONDS = 0
    start(bot_api, "c1")
    start(bot_api, "c2")
    bot_api.post("/api/v1/bots/support-bot/stopHitl", {"conversationId": "c1"})
    queue.send_updates()
    assert [e["queuePosition"] for e in queued_events(bot_api, "c2")] == [1]


# --- business hours ---------------------------------------------------------------------------


def keep_hours(time_zone: str, **days) -> None:
    """Business hours: weekday number → (opens, closes) as "HH:MM"."""
    assignment.routing_settings()
    RoutingSettings.objects.filter(pk=1).update(business_hours=True, time_zone=time_zone)
    BusinessHours.objects.all().delete()
    for weekday, (opens, closes) in days.items():
        BusinessHours.objects.create(weekday=int(weekday[1:]), opens=opens, closes=closes)


def at(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def test_business_hours_in_their_own_time_zone(db):
    keep_hours("Europe/Paris", d0=("09:00", "17:30"), d4=("22:00", "02:00"))
    paris = "Europe/Paris"
    # Monday 2026-11-30
    assert queue.within_business_hours(at("2026-11-30T09:00", paris))
    assert queue.within_business_hours(at("2026-11-30T17:29", paris))
    assert not queue.within_business_hours(at("2026-11-30T17:30", paris))
    assert not queue.within_business_hours(at("2026-11-30T08:59", paris))
    # The same moment seen from New York is the same answer.
    assert queue.within_business_hours(at("2026-11-30T03:30", "America/New_York"))
    # Friday's late shift runs into Saturday morning.
    assert queue.within_business_hours(at("2026-12-04T23:00", paris))
    assert queue.within_business_hours(at("2026-12-05T01:59", paris))
    assert not queue.within_business_hours(at("2026-12-05T02:00", paris))
    assert not queue.within_business_hours(at("2026-12-05T12:00", paris))  # Saturday
    # Across the spring clock change, 09:00 local is still opening time.
    assert queue.within_business_hours(at("2027-03-29T09:00", paris))
    assert not queue.within_business_hours(at("2027-03-29T08:30", paris))


def test_without_business_hours_the_team_is_always_in(db):
    assert queue.within_business_hours(at("2026-11-29T03:00", "UTC"))


def test_outside_business_hours_the_bot_hears_its_outside_hours_message(
    connected_bot, bot_api
):
    keep_hours("UTC")  # kept, but no day has hours: always closed
    answer = start(bot_api, "c1")
    assert answer["withinBusinessHours"] is False
    assert answer["status"] == "pending"  # the ticket is open all the same: nothing is lost
    [event] = queued_events(bot_api, "c1")
    assert event["withinBusinessHours"] is False
    assert event["message"] == (
        "Our team is offline right now. We will reply here when we are back."
    )
    assert Ticket.objects.filter(conversation_id="c1", status="pending").exists()


def test_within_business_hours_the_answer_says_so(connected_bot, bot_api):
    today = timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).weekday()
    keep_hours("Asia/Tokyo", **{f"d{today}": ("00:00", "00:00")})  # all day today
    assert start(bot_api, "c1")["withinBusinessHours"] is True


def test_the_deploy_fields_have_their_defaults_and_can_be_changed(connected_bot, bot_api):
    bot = bot_api.get("/api/v1/bots/support-bot").json()
    assert bot["agentTransferredMessage"] == "{agentName} has taken over the conversation."
    assert bot["queuedMessage"] == (
        "You are number {queuePosition} in line. An agent will be with you shortly."
    )
    assert bot["outsideHoursMessage"] == (
        "Our team is offline right now. We will reply here when we are back."
    )
    changed = bot_api.put("/api/v1/bots/support-bot", {"outsideHoursMessage": "Back at 9."})
    assert changed.json()["outsideHoursMessage"] == "Back at 9."
    refused = bot_api.put("/api/v1/bots/support-bot", {"queuedMessage": "x" * 2001})
    assert refused.status_code == 422
    assert "queuedMessage" in refused.json()["fields"]


def test_hitl_queued_events_are_a_known_type(connected_bot, bot_api):
    keep_hours("UTC")
    start(bot_api, "c1")
    assert Event.objects.filter(type="hitlQueued").count() == 1


# --- Settings → Routing: business hours --------------------------------------------------------


def hours_form(**changes) -> dict:
    form = {"form": "hours", "business_hours": "on", "time_zone": "Europe/Berlin"}
    for day in range(5):
        form |= {f"day-{day}-open": "on", f"day-{day}-opens": "08:30", f"day-{day}-closes": "18:00"}
    return form | changes


def test_an_admin_sets_business_hours_on_the_routing_page(admin_client):
    response = admin_client.post("/settings/routing/", hours_form())
    assert response.status_code == 302
    routing = RoutingSettings.objects.get(pk=1)
    assert (routing.business_hours, routing.time_zone) == (True, "Europe/Berlin")
    assert [str(h) for h in BusinessHours.objects.all()] == [
        f"{day} 08:30–18:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
    ]
    page = admin_client.get("/settings/routing/").content.decode()
    assert "Business hours saved." in page
    assert 'name="day-5-open"' in page and 'name="day-5-open" checked' not in page
    assert 'value="08:30"' in page
    # Saturday 10:00 in Berlin is outside; Monday 10:00 is inside.
    assert not queue.within_business_hours(at("2026-12-05T10:00", "Europe/Berlin"))
    assert queue.within_business_hours(at("2026-11-30T10:00", "Europe/Berlin"))


@pytest.mark.parametrize(
    ("change", "field", "refusal"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Choose a time zone"),
        ({"day-2-opens": "9am"}, "day-2-opens", "Wednesday: give the time as HH:MM"),
        ({"day-0-closes": ""}, "day-0-closes", "Monday: give the time as HH:MM"),
    ],
)
def test_bad_business_hours_are_refused_and_change_nothing(admin_client, change, field, refusal):
    admin_client.post("/settings/routing/", hours_form())
    response = admin_client.post("/settings/routing/", hours_form(**change, **{
        "day-6-open": "on", "day-6-opens": "10:00", "day-6-closes": "12:00"}))
    assert response.status_code == 422
    assert refusal in response.content.decode()
    assert BusinessHours.objects.count() == 5  # as before
    assert RoutingSettings.objects.get(pk=1).time_zone == "Europe/Berlin"


def test_business_hours_with_no_open_day_are_refused(admin_client):
    form = {"form": "hours", "business_hours": "on", "time_zone": "UTC"}
    response = admin_client.post("/settings/routing/", form)
    assert response.status_code == 422
    assert "Open at least one day" in response.content.decode()


def test_agents_cannot_set_business_hours(agent_client):
    assert agent_client.post("/settings/routing/", hours_form()).status_code == 403
    assert not BusinessHours.objects.exists()
