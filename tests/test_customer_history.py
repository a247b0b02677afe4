"""Who the customer is: startHitl's userId and customFields, and the ticket side bar that
shows the custom fields and the customer's earlier tickets (same bot and email, or the
same userId), in the agent's language and time zone."""

import json
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bots.services import bot_deploy, bot_set_connected
from desk import services
from desk.models import AgentProfile, Ticket

START = "/api/v1/bots/support-bot/startHitl"


def start(bot_api, conversation_id: str, **fields):
    return bot_api.post(START, {"conversationId": conversation_id, **fields})


def side_bar(agent_client, ticket: Ticket, **headers) -> str:
    html = agent_client.get(f"/tickets/{ticket.pk}/", headers=headers).content.decode()
    return re.search(r'<section class="card customer-card".*?</section>', html, re.S).group(0)


def history_numbers(card: str) -> list[int]:
    listed = re.search(r'<ol class="customer-history".*?</ol>', card, re.S)
    if listed is None:
        return []
    return [int(n) for n in re.findall(r'href="/tickets/(\d+)/"', listed.group(0))]


def make(bot, conversation_id: str, **fields) -> Ticket:
    return services.start_hitl(bot=bot, conversation_id=conversation_id, **fields)[0]


# --- startHitl's userId and customFields ------------------------------------------------


def test_start_hitl_keeps_the_user_id_and_the_custom_fields(bot_api, connected_bot):
    fields = {"plan": "gold", "orders": 7, "vip": True, "balance": 12.5, "note": ""}
    r = start(bot_api, "c1", userId="bp-user-42", customFields=fields)
    assert r.status_code == 201, r.content
    ticket = Ticket.objects.get()
    assert ticket.user_id == "bp-user-42"
    assert ticket.custom_fields == fields


def test_fields_left_out_are_empty(bot_api, connected_bot):
    assert start(bot_api, "c1").status_code == 201
    ticket = Ticket.objects.get()
    assert (ticket.user_id, ticket.custom_fields) == ("", {})


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"k" * 65: "x"}, "customFields." + "k" * 65),
        ({"": "x"}, "customFields."),
        ({"nested": {"a": 1}}, "customFields.nested"),
        ({"list": [1, 2]}, "customFields.list"),
        ({"nothing": None}, "customFields.nothing"),
        ({"long": "x" * 1001}, "customFields.long"),
        ({"nul": "a\x00b"}, "customFields.nul"),
        ({"ok": 1, "bad\x00key": 1}, "customFields.bad\x00key"),
        ({f"key{n}": n for n in range(51)}, "customFields"),
        ("a string", "customFields"),
        ([1, 2], "customFields"),
    ],
)
def test_bad_custom_fields_are_refused_naming_the_key_and_nothing_is_created(
    bot_api, connected_bot, fields, named
):
    r = start(bot_api, "c1", customFields=fields)
    assert r.status_code == 422, r.content
    assert named in r.json()["fields"], r.json()
    assert not Ticket.objects.exists()


def test_every_bad_key_is_named_at_once(bot_api, connected_bot):
    r = start(bot_api, "c1", customFields={"ok": "yes", "a": None, "b": {"c": 1}})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"customFields.a", "customFields.b"}


def test_fifty_keys_of_sixty_four_characters_are_accepted(bot_api, connected_bot):
    fields = {f"{n:02d}".ljust(64, "k"): n for n in range(50)}
    assert start(bot_api, "c1", customFields=fields).status_code == 201
    assert len(Ticket.objects.get().custom_fields) == 50


def test_a_number_that_is_not_finite_is_refused(bot_api, connected_bot):
    body = '{"conversationId": "c1", "customFields": {"score": NaN}}'
    r = bot_api.post(START, body)
    assert r.status_code == 422, r.content
    assert "customFields.score" in r.json()["fields"]
    assert not Ticket.objects.exists()


def test_a_user_id_over_200_characters_is_refused(bot_api, connected_bot):
    r = start(bot_api, "c1", userId="u" * 201)
    assert r.status_code == 422
    assert "userId" in r.json()["fields"]
    assert not Ticket.objects.exists()


def test_the_document_describes_both_fields(client, db):
    document = client.get("/api/v1/openapi.json").json()
    properties = document["components"]["schemas"]["StartHitlIn"]["properties"]
    assert "userId" in properties and "customFields" in properties
    assert "50 keys" in properties["customFields"]["description"]


# --- the side bar: custom fields ---------------------------------------------------------


def test_the_side_bar_lists_the_custom_fields_by_name(agent_client, connected_bot):
    ticket = make(
        connected_bot, "c1", user_email="jo@example.com",
        custom_fields={"plan": "gold", "Orders": 7, "vip": True, "trial": False, "zip": "<b>"},
    )
    card = side_bar(agent_client, ticket)
    pairs = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", card)
    assert pairs == [
        ("Orders", "7"), ("plan", "gold"), ("trial", "no"), ("vip", "yes"), ("zip", "&lt;b&gt;"),
    ]


def test_without_custom_fields_there_is_no_list(agent_client, connected_bot):
    card = side_bar(agent_client, make(connected_bot, "c1", user_email="jo@example.com"))
    assert "custom-fields" not in card


# --- the side bar: earlier tickets ---------------------------------------------------------


def test_a_first_ticket_says_first_contact(agent_client, connected_bot):
    card = side_bar(agent_client, make(connected_bot, "c1", user_email="jo@example.com"))
    assert "First contact" in card and "customer-history" not in card


def test_earlier_tickets_with_the_same_email_are_listed_newest_first(
    agent_client, connected_bot, agent
):
    first = make(connected_bot, "c1", title="Parcel lost", user_email="jo@example.com")
    services.ticket_close(ticket_id=first.pk, agent=agent)
    second = make(connected_bot, "c2", title="Refund", user_email="jo@example.com")
    make(connected_bot, "c3", title="Someone else", user_email="sam@example.com")
    current = make(connected_bot, "c4", title="Again", user_email="jo@example.com")
    make(connected_bot, "c5", title="Later one", user_email="jo@example.com")
    card = side_bar(agent_client, current)
    assert history_numbers(card) == [second.pk, first.pk]
    assert "Parcel lost" in card and "Refund" in card and "Someone else" not in card
    assert f'<span class="num">#{first.pk}</span>' in card
    assert 'class="status status-closed">closed<' in card
    assert 'class="status status-pending">pending<' in card
    assert "First contact" not in card


def test_another_bots_tickets_are_not_the_customers_history_here(
    agent_client, connected_bot, api_key_pair
):
    other, _ = bot_deploy(bot_id="sales-bot", api_key=api_key_pair[0], name="Sales Bot")
    other = bot_set_connected(bot_id=other.bot_id, connected=True)
    make(other, "c1", user_email="jo@example.com")
    card = side_bar(agent_client, make(connected_bot, "c2", user_email="jo@example.com"))
    assert "First contact" in card


def test_the_same_user_id_finds_tickets_under_another_email(agent_client, connected_bot):
    before = make(connected_bot, "c1", user_id="u-7", user_email="old@example.com")
    by_email = make(connected_bot, "c2", user_email="new@example.com")
    make(connected_bot, "c3", user_id="u-8", user_email="other@example.com")
    current = make(connected_bot, "c4", user_id="u-7", user_email="new@example.com")
    assert history_numbers(side_bar(agent_client, current)) == [by_email.pk, before.pk]


def test_a_customer_with_neither_email_nor_user_id_has_no_history_to_show(
    agent_client, connected_bot
):
    make(connected_bot, "c1")
    card = side_bar(agent_client, make(connected_bot, "c2"))
    assert "First contact" not in card and "customer-history" not in card
    assert "no email or user id" in card


def test_the_ten_latest_are_shown_and_the_rest_said(agent_client, connected_bot):
    earlier = [make(connected_bot, f"c{n}", user_email="jo@example.com") for n in range(12)]
    card = side_bar(agent_client, make(connected_bot, "now", user_email="jo@example.com"))
    assert history_numbers(card) == [t.pk for t in reversed(earlier)][:10]
    assert "The latest 10 shown." in card


def test_the_history_is_read_in_one_query_however_long(agent_client, connected_bot):
    def page_queries(conversation: str) -> int:
        ticket = make(connected_bot, conversation, user_email="jo@example.com")
        with CaptureQueriesContext(connection) as queries:
            assert agent_client.get(f"/tickets/{ticket.pk}/").status_code == 200
        return len(queries)

    one = page_queries("first")  # no earlier ticket
    for n in range(7):
        make(connected_bot, f"c{n}", user_email="jo@example.com", custom_fields={"n": n})
    assert page_queries("ninth") == one


def test_dates_show_in_the_agents_time_zone_and_language(agent, agent_client, connected_bot):
    earlier = make(connected_bot, "c1", user_email="jo@example.com")
    Ticket.objects.filter(pk=earlier.pk).update(
        created_at=datetime(2026, 3, 14, 20, 30, tzinfo=UTC)
    )
    current = make(connected_bot, "c2", user_email="jo@example.com")
    AgentProfile.objects.update_or_create(agent=agent, defaults={"time_zone": "Asia/Tokyo"})
    card = side_bar(agent_client, current)
    assert 'datetime="2026-03-15T05:30:00+09:00"' in card and "Mar 15, 2026" in card
    german = side_bar(agent_client, current, accept_language="de")
    assert "15. Mär 2026" in german and "Frühere Tickets" in german


def test_the_payload_in_the_document_is_what_the_sdk_sends(connected_bot, bot_api):
    # customFields travel as given: keys are not camel-cased or changed on the way.
    body = {"conversationId": "c1", "customFields": {"snake_key": 1, "Mixed Key": "v"}}
    assert bot_api.post(START, json.dumps(body)).status_code == 201
    assert Ticket.objects.get().custom_fields == {"snake_key": 1, "Mixed Key": "v"}


def test_the_inbox_search_finds_a_custom_field(agent_client, connected_bot):
    gold = make(connected_bot, "c1", custom_fields={"plan": "Platinum", "orders": 7})
    make(connected_bot, "c2", custom_fields={"plan": "basic"})
    html = agent_client.get("/?q=platinum").content.decode()
    assert f'id="ticket-{gold.pk}"' in html and html.count('class="ticket-row row-') == 1
