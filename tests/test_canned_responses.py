"""Canned responses: the team's shared ones (admins manage them) and each agent's own,
on Settings → Canned responses; the composer's picker on a ticket page, filled in for
that ticket; a use counted when a message made with one is sent."""

import html
import re

import pytest
from asgiref.sync import sync_to_async

from desk import services
from desk.models import CannedResponse, Message

PAGE = "/settings/canned-responses/"


def add(client, *, code="refund", title="Refund policy", body="Hi {customerName}!", scope="mine"):
    return client.post(PAGE, {"scope": scope, "code": code, "title": title, "body": body})


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(
        bot=connected_bot, conversation_id="conv-1", title="Double charge", user_name="Jordan Lee"
    )
    return ticket


# --- managing them -------------------------------------------------------------------------


def test_an_admin_adds_a_shared_response_every_agent_sees(admin_client, agent_client):
    response = add(admin_client, scope="shared", code="/Refund")
    assert response.status_code == 302
    saved = CannedResponse.objects.get()
    assert (saved.owner, saved.code) == (None, "refund")  # the / and capitals are dropped
    page = agent_client.get(PAGE).content.decode()
    assert "/refund" in page and "Refund policy" in page


def test_an_agent_keeps_their_own_that_nobody_else_sees(agent_client, agent, other_agent):
    assert add(agent_client, code="hello", title="My greeting").status_code == 302
    assert CannedResponse.objects.get().owner == agent
    other = agent_client.__class__()
    other.force_login(other_agent)
    assert "My greeting" not in other.get(PAGE).content.decode()
    assert "My greeting" in agent_client.get(PAGE).content.decode()


def test_an_agent_cannot_add_or_change_a_shared_response(agent_client, admin_client):
    assert add(agent_client, scope="shared").status_code == 403
    assert not CannedResponse.objects.exists()
    add(admin_client, scope="shared")
    shared = CannedResponse.objects.get()
    edit = f"{PAGE}{shared.pk}/"
    assert agent_client.get(edit).status_code == 403
    assert agent_client.post(edit, {"code": "x", "title": "x", "body": "x"}).status_code == 403
    assert agent_client.post(f"{edit}delete/").status_code == 403
    shared.refresh_from_db()
    assert shared.code == "refund"
    # Only admins see the form that adds one.
    assert 'value="shared"' not in agent_client.get(PAGE).content.decode()
    assert 'value="shared"' in admin_client.get(PAGE).content.decode()


def test_another_agents_own_response_does_not_exist_for_me(agent_client, other_agent):
    mine = CannedResponse.objects.create(owner=other_agent, code="x", title="Sam's", body="b")
    for response in (
        agent_client.get(f"{PAGE}{mine.pk}/"),
        agent_client.post(f"{PAGE}{mine.pk}/", {"code": "y", "title": "t", "body": "b"}),
        agent_client.post(f"{PAGE}{mine.pk}/delete/"),
        agent_client.get(f"{PAGE}99999/"),
    ):
        assert response.status_code == 404
    assert CannedResponse.objects.filter(pk=mine.pk, code="x").exists()


@pytest.mark.parametrize(
    "code",
    ["", "has space", "ümlaut", "-leading", "a" * 33, "semi;colon", "dot.ted", "/"],
)
def test_a_code_must_be_short_and_slug_like(agent_client, code):
    response = add(agent_client, code=code)
    assert response.status_code == 422
    assert "A code is 1 to 32 lower-case letters" in response.content.decode()
    assert not CannedResponse.objects.exists()


def test_a_title_and_a_text_are_required_and_each_error_shows(agent_client):
    response = add(agent_client, code="ok", title="  ", body="\n")
    page = response.content.decode()
    assert response.status_code == 422
    assert "Give the response a title." in page and "Write the response&#x27;s text." in page
    assert 'aria-invalid="true"' in page
    assert 'value="ok"' in page  # what was typed is kept


def test_a_code_is_unique_within_its_scope_only(admin_client, agent_client, agent, other_agent):
    assert add(admin_client, scope="shared", code="ref").status_code == 302
    refused = add(admin_client, scope="shared", code="REF")
    assert refused.status_code == 422
    assert "A shared response already uses /ref." in refused.content.decode()
    assert add(agent_client, code="ref").status_code == 302  # mine may share a shared code
    refused = add(agent_client, code="ref", title="Again")
    assert refused.status_code == 422
    assert "One of your responses already uses /ref." in refused.content.decode()
    other = agent_client.__class__()
    other.force_login(other_agent)
    assert add(other, code="ref").status_code == 302  # so may another agent's
    assert CannedResponse.objects.filter(code="ref").count() == 3


def test_an_admin_edits_and_deletes_a_shared_response(admin_client):
    add(admin_client, scope="shared")
    shared = CannedResponse.objects.get()
    form = admin_client.get(f"{PAGE}{shared.pk}/").content.decode()
    assert 'value="refund"' in form and "Hi {customerName}!" in form
    saved = admin_client.post(
        f"{PAGE}{shared.pk}/", {"code": "refunds", "title": "Refunds", "body": "New text"}
    )
    assert saved.status_code == 302
    shared.refresh_from_db()
    assert (shared.code, shared.title, shared.body, shared.owner) == (
        "refunds", "Refunds", "New text", None
    )
    assert admin_client.post(f"{PAGE}{shared.pk}/delete/").status_code == 302
    assert not CannedResponse.objects.exists()


def test_editing_into_a_taken_code_is_refused(agent_client, agent):
    CannedResponse.objects.create(owner=agent, code="a", title="A", body="a")
    b = CannedResponse.objects.create(owner=agent, code="b", title="B", body="b")
    response = agent_client.post(f"{PAGE}{b.pk}/", {"code": "a", "title": "B", "body": "b"})
    assert response.status_code == 422
    b.refresh_from_db()
    assert b.code == "b"


def test_the_page_lists_the_most_used_first(agent_client, agent):
    CannedResponse.objects.create(owner=agent, code="rare", title="Rare", body="x", usage_count=1)
    CannedResponse.objects.create(owner=agent, code="often", title="Often", body="x", usage_count=9)
    CannedResponse.objects.create(owner=None, code="mid", title="Mid", body="x", usage_count=4)
    page = agent_client.get(PAGE).content.decode()
    mine = page[page.index('id="mine-title"'):]
    assert mine.index("/often") < mine.index("/rare")
    assert re.search(r"/often</code>.*?data-uses>9<", mine, re.S)


# --- the composer's picker ------------------------------------------------------------------


def test_the_ticket_page_offers_the_responses_filled_in_for_the_ticket(
    agent_client, agent, other_agent, ticket
):
    CannedResponse.objects.create(
        owner=None, code="ref", title="Refund policy",
        body="Hi {customerName}, {agentName} here about #{ticketNumber} ({botName}). {other}",
    )
    CannedResponse.objects.create(owner=agent, code="bye", title="Goodbye", body="Bye!")
    CannedResponse.objects.create(owner=other_agent, code="sam", title="Sam's", body="x")
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'role="listbox"' in page
    filled = f"Hi Jordan Lee, Maya Lopez here about #{ticket.pk} (Support Bot). {{other}}"
    assert f'data-body="{html.escape(filled)}"' in page
    assert 'data-code="bye"' in page
    assert "Sam&#x27;s" not in page  # another agent's own are not offered


def test_a_value_the_ticket_lacks_stays_as_its_placeholder(agent_client, connected_bot):
    anonymous, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-2")
    CannedResponse.objects.create(owner=None, code="hi", title="Hi", body="Hi {customerName}!")
    page = agent_client.get(f"/tickets/{anonymous.pk}/").content.decode()
    assert 'data-body="Hi {customerName}!"' in page


def test_a_body_cannot_break_out_of_the_page(agent_client, ticket):
    CannedResponse.objects.create(
        owner=None, code="x", title="<img src=x onerror=alert(1)>",
        body='"><script>alert(1)</script>',
    )
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page


def test_without_responses_the_composer_has_no_picker(agent_client, ticket):
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'id="canned-list"' not in page


# --- usage --------------------------------------------------------------------------------


def test_a_reply_sent_with_a_response_counts_one_use(agent_client, ticket):
    shared = CannedResponse.objects.create(owner=None, code="ref", title="R", body="b")
    agent_client.post(
        f"/tickets/{ticket.pk}/actions/",
        {"action": "reply", "text": "Edited text", "canned": [shared.pk, shared.pk]},
    )
    shared.refresh_from_db()
    assert shared.usage_count == 1  # once per message, however often it was inserted
    assert shared.last_used_at is not None
    assert Message.objects.filter(kind="agent", text="Edited text").exists()


def test_a_note_counts_too_and_a_refused_message_does_not(agent_client, ticket):
    mine = CannedResponse.objects.create(owner=None, code="n", title="N", body="b")
    agent_client.post(
        f"/tickets/{ticket.pk}/actions/", {"action": "note", "text": "x", "canned": mine.pk}
    )
    agent_client.post(
        f"/tickets/{ticket.pk}/actions/", {"action": "reply", "text": "  ", "canned": mine.pk}
    )
    mine.refresh_from_db()
    assert mine.usage_count == 1


def test_another_agents_response_is_not_counted(agent_client, other_agent, ticket):
    theirs = CannedResponse.objects.create(owner=other_agent, code="s", title="S", body="b")
    agent_client.post(
        f"/tickets/{ticket.pk}/actions/",
        {"action": "reply", "text": "hi", "canned": [theirs.pk, "nonsense"]},
    )
    theirs.refresh_from_db()
    assert theirs.usage_count == 0


@pytest.mark.django_db(transaction=True)
async def test_a_reply_over_the_socket_counts_its_responses(agent, connected_bot):
    from tests.test_live_inbox import opened, ticket_for

    ticket = await ticket_for(connected_bot)
    shared = await sync_to_async(CannedResponse.objects.create)(
        owner=None, code="ref", title="R", body="b"
    )
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.send(action="reply", ticket=ticket.pk, text="Refunds take 5 days", canned=[
        str(shared.pk)
    ])
    await tab.wait_for("Refunds take 5 days")
    await sync_to_async(shared.refresh_from_db)()
    assert shared.usage_count == 1
    await tab.send(action="reply", ticket=ticket.pk, text="Again", canned=str(shared.pk))
    await tab.wait_for("Again")
    await sync_to_async(shared.refresh_from_db)()
    assert shared.usage_count == 2
    await tab.close()
