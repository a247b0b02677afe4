"""Labels: admins define them (Settings → Labels, a name and a readable colour); agents put
them on tickets and take them off from the side bar, live for the other tabs; the inbox
shows them on the rows, filters by one (in the URL) and counts open tickets per label;
bots name them in startHitl (created only when an admin allowed it, else 422 naming it)."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from desk import colours, labels, realtime, services
from desk.models import Label, LabelSettings, Message, Ticket, TicketLabel
from tests.test_live_inbox import opened, ticket_for

PAGE = "/settings/labels/"


def make(name="Refund", colour="#1971c2") -> Label:
    return Label.objects.create(name=name, colour=colour)


def act(client, ticket, action, label):
    return client.post(
        f"/tickets/{ticket.pk}/actions/", {"action": action, "label": label.pk}, follow=True
    )


@pytest.fixture
def ticket(connected_bot):
    return services.start_hitl(bot=connected_bot, conversation_id="conv-1", title="Charged")[0]


# --- colours ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given,stored",
    [("#1971C2", "#1971c2"), ("1971c2", "#1971c2"), ("#abc", "#aabbcc"), (" #000000 ", "#000000")],
)
def test_a_colour_is_kept_as_six_lower_case_digits(given, stored):
    assert colours.normalise(given) == stored


@pytest.mark.parametrize("given", ["red", "#12345", "#1234567", "#ggg", "", "rgb(0,0,0)"])
def test_anything_else_is_not_a_colour(given):
    assert colours.normalise(given) is None


@pytest.mark.parametrize(
    "background,text",
    [
        ("#ffff00", "#111827"), ("#ffffff", "#111827"),
        ("#1b1f3b", "#ffffff"), ("#c92a2a", "#ffffff"),
    ],
)
def test_the_text_on_a_chip_is_whichever_reads_better(background, text):
    assert colours.text_colour(background) == text


def test_every_colour_a_bot_label_gets_is_readable_at_wcag_aa():
    for colour in colours.PALETTE:
        assert colours.contrast(colour, colours.text_colour(colour)) >= 4.5, colour
    assert colours.for_name("VIP") == colours.for_name("vip")


# --- Settings → Labels --------------------------------------------------------------------------


def test_an_admin_adds_renames_recolours_and_deletes_a_label(admin_client, ticket, agent):
    added = admin_client.post(PAGE, {"name": " Refund  request ", "colour": "#FFFF00"})
    assert added.status_code == 302
    label = Label.objects.get()
    assert (label.name, label.colour) == ("Refund request", "#ffff00")
    page = admin_client.get(PAGE).content.decode()
    assert 'style="background: #ffff00; color: #111827">Refund request<' in page
    saved = admin_client.post(
        PAGE, {"form": "edit", "label": label.pk, "name": "Refund", "colour": "#1b1f3b"}
    )
    assert saved.status_code == 302
    label.refresh_from_db()
    assert (label.name, label.colour, label.text_colour) == ("Refund", "#1b1f3b", "#ffffff")
    labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=label.pk)
    assert admin_client.post(PAGE, {"form": "delete", "label": label.pk}).status_code == 302
    assert not Label.objects.exists() and not TicketLabel.objects.exists()


@pytest.mark.parametrize(
    "fields,error",
    [
        ({"name": "", "colour": "#ffffff"}, "Give the label a name."),
        ({"name": "x" * 51, "colour": "#ffffff"}, "at most 50 characters"),
        ({"name": "Red", "colour": "red"}, "A colour is written #rrggbb"),
        ({"name": "Red", "colour": "#ff00001"}, "A colour is written #rrggbb"),
    ],
)
def test_a_bad_name_or_colour_is_refused_and_nothing_is_made(admin_client, fields, error):
    response = admin_client.post(PAGE, fields)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not Label.objects.exists()


def test_names_are_unique_whatever_their_case(admin_client):
    make("VIP")
    response = admin_client.post(PAGE, {"name": "vip", "colour": "#000000"})
    assert response.status_code == 422
    assert "There is already a label named “vip”." in response.content.decode()
    other = make("Bug")
    response = admin_client.post(
        PAGE, {"form": "edit", "label": other.pk, "name": "Vip", "colour": "#000000"}
    )
    assert response.status_code == 422
    other.refresh_from_db()
    assert other.name == "Bug"


def test_only_admins_reach_the_labels_page(agent_client):
    assert agent_client.get(PAGE).status_code == 403
    assert agent_client.post(PAGE, {"name": "X", "colour": "#000000"}).status_code == 403
    assert not Label.objects.exists()


def test_an_admin_lets_bots_create_labels(admin_client):
    assert not labels.label_settings().bots_create_labels
    admin_client.post(PAGE, {"form": "settings", "bots_create_labels": "on"})
    assert LabelSettings.objects.get().bots_create_labels
    admin_client.post(PAGE, {"form": "settings"})
    assert not LabelSettings.objects.get().bots_create_labels


# --- on a ticket ------------------------------------------------------------------------------


def test_an_agent_adds_and_removes_a_label_from_the_side_bar(agent_client, ticket):
    label = make()
    page = act(agent_client, ticket, "add_label", label).content.decode()
    assert list(ticket.labels.all()) == [label]
    assert "Label added." in page
    side = page[page.index('id="ticket-labels"'):]
    assert ">Refund<" in side and "Remove the label Refund" in side
    line = "Maya Lopez added the label “Refund”."
    assert Message.objects.filter(kind="system", text=line).exists()
    act(agent_client, ticket, "add_label", label)  # twice: still once, no second line
    assert TicketLabel.objects.count() == 1
    assert Message.objects.filter(kind="system", text__contains="added the label").count() == 1
    act(agent_client, ticket, "remove_label", label)
    assert not ticket.labels.exists()
    assert Message.objects.filter(text="Maya Lopez removed the label “Refund”.").exists()


def test_an_unknown_label_is_refused(agent_client, ticket):
    page = agent_client.post(
        f"/tickets/{ticket.pk}/actions/", {"action": "add_label", "label": "999"}, follow=True
    ).content.decode()
    assert "Choose a label." in page
    assert not TicketLabel.objects.exists()


def test_a_closed_ticket_can_still_be_labelled(agent_client, agent, ticket):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    act(agent_client, ticket, "add_label", make())
    assert ticket.labels.count() == 1


def test_the_side_bar_offers_only_the_labels_not_on_the_ticket(agent_client, agent, ticket):
    refund, vip = make("Refund"), make("VIP", "#000000")
    labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=vip.pk)
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    menu = page[page.index('id="add-label"'):page.index("</select>", page.index('id="add-label"'))]
    assert f'value="{refund.pk}"' in menu and f'value="{vip.pk}"' not in menu


# --- the inbox --------------------------------------------------------------------------------


def test_rows_show_labels_and_the_inbox_filters_by_one(agent_client, agent, connected_bot):
    refund = make("Refund")
    tickets = [
        services.start_hitl(bot=connected_bot, conversation_id=f"c{i}", title=f"T{i}")[0]
        for i in range(3)
    ]
    labels.ticket_add_label(ticket_id=tickets[1].pk, agent=agent, label_id=refund.pk)
    page = agent_client.get("/").content.decode()
    row = re.search(rf'<div id="ticket-{tickets[1].pk}" role="row".*?class="cell-actions"', page,
                    re.S).group(0)
    assert 'class="label-chip"' in row and ">Refund<" in row
    assert f'id="count-label-{refund.pk}">1<' in page
    filtered = agent_client.get(f"/?label={refund.pk}")
    assert [t.pk for t in filtered.context["tickets"]] == [tickets[1].pk]
    assert "Clear filters" in filtered.content.decode()
    # A label no one could mean is no filter.
    assert len(agent_client.get("/?label=99999999999999999999").context["tickets"]) == 3


def test_label_counts_are_over_open_tickets(agent, connected_bot):
    refund = make()
    for i in range(3):
        ticket = services.start_hitl(bot=connected_bot, conversation_id=f"c{i}")[0]
        labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=refund.pk)
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    from desk.selectors import inbox_counts

    assert inbox_counts()["label"] == {refund.pk: 2}


def test_the_inbox_costs_the_same_queries_for_one_labelled_ticket_or_a_full_page(
    agent_client, agent, connected_bot
):
    tags = [make(f"L{i}", "#000000") for i in range(3)]

    def escalate(n: int) -> None:
        for _ in range(n):
            ticket = services.start_hitl(
                bot=connected_bot, conversation_id=f"c{Ticket.objects.count()}"
            )[0]
            services.post_user_message(
                bot=connected_bot, conversation_id=ticket.conversation_id, text="hello"
            )
            for tag in tags:
                labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=tag.pk)

    escalate(1)
    agent_client.get("/")  # the session, the profile: made once
    with CaptureQueriesContext(connection) as one:
        agent_client.get("/")
    escalate(24)
    with CaptureQueriesContext(connection) as page:
        response = agent_client.get("/")
    assert response.content.decode().count('class="label-chip"') == 25 * 3
    assert len(page) == len(one), [q["sql"] for q in page.captured_queries]


# --- live ---------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_label_reaches_the_other_tabs_live(agent, other_agent, connected_bot):
    refund = await sync_to_async(make)()
    ticket = await ticket_for(connected_bot)
    viewer = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    inbox = await opened("/ws/desk/?inbox=1", other_agent)
    narrowed = await opened(f"/ws/desk/?inbox=1&label={refund.pk}", other_agent)
    for tab in (viewer, inbox, narrowed):
        await tab.drain()
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await maya.send(action="add_label", ticket=ticket.pk, label=refund.pk)

    side = await viewer.wait_for('id="ticket-labels"')
    assert ">Refund<" in side and "Remove the label Refund" in side
    await viewer.find("added the label “Refund”")  # the transcript's system line
    row = await inbox.wait_for(f'id="ticket-{ticket.pk}"')
    assert ">Refund<" in row
    await inbox.find(f'id="count-label-{refund.pk}" hx-swap-oob="true">1<')
    # The tab filtered by the label gains the row, and loses it when the label goes.
    assert ">Refund<" in await narrowed.wait_for(f'<div id="ticket-{ticket.pk}" role="row"')
    await maya.send(action="remove_label", ticket=ticket.pk, label=refund.pk)
    await narrowed.wait_for(f'<div id="ticket-{ticket.pk}" class="gone">')
    await inbox.wait_for(f'id="count-label-{refund.pk}" hx-swap-oob="true">0<',
                         timeout=3 + realtime.COUNTS_INTERVAL)
    for tab in (viewer, inbox, narrowed, maya):
        await tab.close()


# --- bots name labels at the escalation -----------------------------------------------------------


def start(bot_api, **fields):
    return bot_api.post(
        "/api/v1/bots/support-bot/startHitl", {"conversationId": "conv-1", **fields}
    )


def test_a_bot_names_labels_the_desk_has(bot_api, connected_bot):
    make("Refund")
    make("VIP", "#000000")
    response = start(bot_api, labels=["refund", " VIP ", "Refund"])
    assert response.status_code == 201, response.json()
    assert response.json()["labels"] == ["Refund", "VIP"]
    ticket = Ticket.objects.get()
    assert sorted(ticket.labels.values_list("name", flat=True)) == ["Refund", "VIP"]
    assert TicketLabel.objects.filter(added_by__isnull=True).count() == 2
    assert Label.objects.count() == 2


def test_an_unknown_label_is_422_naming_it_and_nothing_is_made(bot_api, connected_bot):
    make("VIP")
    response = start(bot_api, title="Help", labels=["VIP", "Refund", "Late"])
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert "“Refund”" in body["message"]
    assert set(body["fields"]) == {"labels.1", "labels.2"}
    assert "“Late”" in body["fields"]["labels.2"]
    assert not Ticket.objects.exists() and Label.objects.count() == 1


def test_with_an_admins_leave_a_bot_creates_the_labels_it_names(bot_api, connected_bot):
    LabelSettings.objects.create(pk=1, bots_create_labels=True)
    make("VIP")
    response = start(bot_api, labels=["vip", "Refund request"])
    assert response.status_code == 201
    assert response.json()["labels"] == ["Refund request", "VIP"]
    created = Label.objects.get(name="Refund request")
    assert created.colour == colours.for_name("Refund request")


@pytest.mark.parametrize(
    "value,field",
    [
        ([""], "labels.0"),
        (["ok", "   "], "labels.1"),
        (["x" * 51], "labels.0"),
        ([42], "labels.0"),
        ("VIP", "labels"),
        ([f"L{i}" for i in range(21)], "labels"),
    ],
)
def test_labels_must_be_a_short_list_of_names(bot_api, connected_bot, value, field):
    response = start(bot_api, labels=value)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not Ticket.objects.exists()


def test_the_open_tickets_answer_again_keeps_its_labels(bot_api, connected_bot):
    make("VIP")
    make("Bug")
    assert start(bot_api, labels=["VIP"]).status_code == 201
    again = start(bot_api, labels=["Bug"])
    assert again.status_code == 200
    assert again.json()["labels"] == ["VIP"]  # the same ticket, unchanged
    assert start(bot_api, labels=["Nope"]).status_code == 422  # still checked


def test_labels_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["StartHitlIn"]["properties"]["labels"]["type"] == "array"
    assert "labels" in schemas["StartHitlOut"]["properties"]
