"""A ticket's system lines ("Maya Lopez claimed the ticket.") in each reader's language.

A line is stored once, as what happened (its event and values) beside the English
sentence: search, exports and bots read the English text; the ticket page and its live
frames word the line in the language of the agent reading it. A line stored before the
catalogue existed shows its text unchanged.
"""

import pytest
from django.utils import translation

from desk import fragments, labels, selectors, services, system_lines, transcript
from desk.models import Label, Message, Ticket

# A value for every placeholder a sentence of the catalogue may name.
SAMPLES = {
    "agent": "Maya Lopez",
    "by": "Sam Okafor",
    "previous": "Alex Admin",
    "label": "Refunds",
    "old": "low",
    "new": "urgent",
    "mode": "round_robin",
    "score": 4,
    "scale": 5,
    "comment": "Quick and kind",
}
NAMES = {"agent", "by", "previous", "label", "comment"}


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(
        bot=connected_bot, conversation_id="conv-1", title="Refund please", user_name="Jo"
    )
    return ticket


def system_texts(ticket: Ticket) -> list[str]:
    return list(
        Message.objects.filter(ticket=ticket, kind=Message.Kind.SYSTEM).values_list(
            "text", flat=True
        )
    )


def test_an_english_agents_actions_read_in_german_for_a_german_agent(
    agent, agent_client, german_client, ticket
):
    label = Label.objects.create(name="Refunds", colour="#3366cc")
    english = {"accept-language": "en"}
    for data in (
        {"action": "claim"},
        {"action": "add_label", "label": label.pk},
        {"action": "priority", "priority": "urgent"},
        {"action": "wait"},
        {"action": "resume"},
        {"action": "remove_label", "label": label.pk},
        {"action": "close"},
    ):
        response = agent_client.post(f"/tickets/{ticket.pk}/actions/", data, headers=english)
        assert response.status_code == 302

    stored = [
        "Maya Lopez claimed the ticket.",
        "Maya Lopez added the label “Refunds”.",
        "Maya Lopez changed the priority from medium to urgent.",
        "Maya Lopez is waiting for the customer's answer.",
        "Maya Lopez stopped waiting for the customer.",
        "Maya Lopez removed the label “Refunds”.",
        "Maya Lopez closed the ticket.",
    ]
    assert system_texts(ticket) == stored

    german = german_client.get(f"/tickets/{ticket.pk}/?all=1").content.decode()
    for sentence in (
        "Maya Lopez hat das Ticket übernommen.",
        "Maya Lopez hat das Label „Refunds“ hinzugefügt.",
        "Maya Lopez hat die Priorität von mittel auf dringend geändert.",
        "Maya Lopez wartet auf die Antwort des Kunden.",
        "Maya Lopez wartet nicht mehr auf den Kunden.",
        "Maya Lopez hat das Label „Refunds“ entfernt.",
        "Maya Lopez hat das Ticket geschlossen.",
    ):
        assert sentence in german
    for sentence in stored:
        assert sentence.replace("'", "&#x27;") not in german

    # The English reader still reads what was stored.
    page = agent_client.get(f"/tickets/{ticket.pk}/?all=1", headers=english).content.decode()
    for sentence in stored:
        assert sentence.replace("'", "&#x27;") in page


def test_a_live_line_is_worded_for_its_reader(agent, ticket):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    line = Message.objects.get(ticket=ticket, kind=Message.Kind.SYSTEM)
    with translation.override("de"):
        german = fragments.message_html(line)
    with translation.override("fr"):
        french = fragments.message_html(line)
    assert "Maya Lopez hat das Ticket übernommen." in german
    assert "Maya Lopez a pris le ticket." in french
    assert line.text == "Maya Lopez claimed the ticket."
    assert line.payload == {"event": "claimed", "agent": "Maya Lopez"}


@pytest.mark.postgres
def test_search_still_finds_the_english_words_of_a_line(agent, ticket):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    found = selectors.InboxFilter(status="open", q="claimed").apply(Ticket.objects.all(), None)
    assert list(found.values_list("pk", flat=True)) == [ticket.pk]


def test_a_line_stored_before_the_catalogue_shows_its_text(german_client, ticket):
    Message.objects.create(
        ticket=ticket, kind=Message.Kind.SYSTEM, text="Maya Lopez claimed the ticket.",
        created_at=ticket.created_at,
    )
    # And one whose event this version no longer knows.
    Message.objects.create(
        ticket=ticket, kind=Message.Kind.SYSTEM, text="Something happened long ago.",
        payload={"event": "gone_event"}, created_at=ticket.created_at,
    )
    page = german_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Maya Lopez claimed the ticket." in page
    assert "Something happened long ago." in page


def test_routing_words_its_mode_in_the_readers_language(agent, ticket):
    line = transcript.system_line(
        ticket, "routed", ticket.created_at, agent="Maya Lopez", mode="least_busy"
    )
    assert line.text == "Routing assigned the ticket to Maya Lopez (least busy)."
    with translation.override("es"):
        assert system_lines.in_active_language(line) == (
            "El enrutamiento asignó el ticket a Maya Lopez (el menos ocupado)."
        )


def test_the_english_text_is_stored_whatever_language_the_writer_reads(agent, ticket):
    label = Label.objects.create(name="Billing", colour="#3366cc")
    with translation.override("de"):
        labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=label.pk)
    assert system_texts(ticket) == ["Maya Lopez added the label “Billing”."]


def test_a_call_site_naming_an_event_or_value_the_catalogue_lacks_fails_loudly():
    with pytest.raises(KeyError):
        system_lines.what_happened("exploded")
    with pytest.raises(KeyError):
        system_lines.what_happened("claimed", agent="Maya Lopez", extra="x")
    with pytest.raises(KeyError):
        system_lines.what_happened("claimed")


@pytest.mark.parametrize("event", sorted(system_lines.SENTENCES))
@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_every_event_reads_in_every_language(ticket, event, language):
    values = {name: SAMPLES[name] for name in system_lines.placeholders(event)}
    line = transcript.system_line(ticket, event, ticket.created_at, **values)
    assert line.text == system_lines.english(line.payload)
    with translation.override(language):
        worded = system_lines.in_active_language(line)
    assert worded != line.text, f"{event} has no {language} translation"
    for name in NAMES & set(values):
        assert str(values[name]) in worded
    with translation.override("en"):
        assert system_lines.in_active_language(line) == line.text
