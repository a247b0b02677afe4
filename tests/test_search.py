"""The inbox search: every word somewhere in the ticket (title, the customer's name and
email, custom fields, any line of the transcript), by word prefix, through the database's
own full-text index (PostgreSQL: tsvector documents with a GIN index; SQLite: FTS5), kept
by triggers. Marked `postgres`: make test runs these on PostgreSQL as well."""

import random
import string

import pytest
from django.core.management import call_command
from django.db import connection

from desk import search_index, selectors, services
from desk.models import Message, Ticket

pytestmark = pytest.mark.postgres


def found(text: str, status: str = "open") -> set[int]:
    tickets = selectors.InboxFilter(status=status, q=text).apply(Ticket.objects.all(), None)
    return set(tickets.values_list("pk", flat=True))


def make(bot, conversation_id: str, **fields) -> Ticket:
    return services.start_hitl(bot=bot, conversation_id=conversation_id, **fields)[0]


@pytest.fixture
def tickets(connected_bot, agent):
    """A title, a name, an email, custom fields, and each kind of line, one per ticket."""
    made = {
        "title": make(connected_bot, "a", title="Refund for order A-1042"),
        "name": make(connected_bot, "b", user_name="Jordan Müller"),
        "email": make(connected_bot, "c", user_email="ada.lovelace@example.org"),
        "fields": make(connected_bot, "d", custom_fields={"plan": "Platinum", "seats": 12,
                                                          "vip": True, "accountManager": "x"}),
        "user": make(connected_bot, "e"),
        "agent": make(connected_bot, "f"),
        "history": make(connected_bot, "g", message_history=[
            services.HistoryItem(role="bot", text="Your tracking code is ZX-99871."),
        ]),
    }
    services.post_user_message(bot=connected_bot, conversation_id="e",
                               text="The parcel arrived damaged")
    services.ticket_reply(ticket_id=made["agent"].pk, agent=agent,
                          text="I have issued a voucher")
    services.ticket_add_note(ticket_id=made["agent"].pk, agent=agent, text="Escalated to Kim")
    return {name: t.pk for name, t in made.items()}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("refund", {"title"}),
        ("REFU", {"title"}),  # any case, a prefix
        ("a-1042", {"title"}),
        ("1042", {"title"}),
        ("jordan", {"name"}),
        ("müller", {"name"}),
        ("ada.lovelace@example.org", {"email"}),
        ("lovelace", {"email"}),
        ("example.org", {"email"}),
        ("platinum", {"fields"}),
        ("seats 12", {"fields"}),
        ("vip true", {"fields"}),
        ("accountmanager", {"fields"}),
        ("damaged", {"user"}),
        ("voucher", {"agent"}),
        ("kim", {"agent"}),  # internal notes are searched too: agents wrote them
        ("zx-99871", {"history"}),
        ("parcel damaged", {"user"}),
        ("parcel voucher", set()),  # every word, in the same ticket
        ("nothing-like-this", set()),
    ],
)
def test_it_finds_every_part_of_a_ticket(tickets, search, expected):
    assert found(search) == {tickets[name] for name in expected}


def test_words_may_come_from_different_parts_of_the_ticket(connected_bot):
    ticket = make(connected_bot, "a", user_name="Jordan", title="Parcel")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Invoice 77")
    make(connected_bot, "b", user_name="Jordan")
    assert found("jordan invoice parcel") == {ticket.pk}


def test_a_search_matching_many_tickets_finds_the_same(tickets, monkeypatch):
    searches = ["refund", "parcel damaged", "lovelace", "kim", "zx-99871", "nothing"]
    expected = {q: found(q) for q in searches}
    monkeypatch.setattr(selectors, "MANY_MATCHES", 1)  # every search counts as many
    assert {q: found(q) for q in searches} == expected
    assert {q: found(q, status="closed") for q in searches} == dict.fromkeys(searches, set())


def test_only_the_last_word_may_be_half_typed(connected_bot):
    ticket = make(connected_bot, "a", user_name="Jordan Refundson", title="Refund")
    assert found("refund jor") == {ticket.pk} and found("refund jordan") == {ticket.pk}
    assert found("jor refund") == set()  # a word before the last is a whole word
    assert found("refund j") == set()  # a last word of one letter too


def test_a_search_with_no_letter_or_digit_finds_nothing(tickets):
    assert found("- @ …") == set()
    assert found('"refund" (refund) refund* refund:* !refund & | \\') == {tickets["title"]}


def test_a_line_written_later_is_found_at_once(connected_bot):
    ticket = make(connected_bot, "a")
    assert found("tracking") == set()
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Tracking please")
    assert found("tracking") == {ticket.pk}


def test_the_search_keeps_the_status_filter(connected_bot, agent):
    open_one = make(connected_bot, "a", title="Refund A")
    closed = make(connected_bot, "b", title="Refund B")
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    assert found("refund") == {open_one.pk}
    assert found("refund", status="closed") == {closed.pk}


def test_changed_fields_and_lines_are_read_again(connected_bot):
    ticket = make(connected_bot, "a", title="Old title")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="first words")
    Ticket.objects.filter(pk=ticket.pk).update(title="New heading", custom_fields={"k": "blue"})
    assert found("old") == set() and found("heading blue first") == {ticket.pk}
    line = Message.objects.get(ticket=ticket, text="first words")
    Message.objects.filter(pk=line.pk).update(text="second words")
    assert found("first") == set() and found("second") == {ticket.pk}
    line.delete()
    assert found("second") == set() and found("heading") == {ticket.pk}
    ticket.delete()
    assert found("heading") == set()


def test_a_live_tab_checks_one_ticket(connected_bot, agent):
    ticket = make(connected_bot, "a", title="Refund please")
    other = make(connected_bot, "b", title="Login")
    assert selectors.search_matches(ticket.pk, "refu")
    assert not selectors.search_matches(other.pk, "refu")
    assert not selectors.search_matches(ticket.pk, "...")
    open_tab = selectors.InboxFilter(q="refu")
    closed_tab = selectors.InboxFilter(status="closed", q="refu")
    assert open_tab.matches_search(ticket.pk) and not open_tab.matches_search(other.pk)
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    assert closed_tab.matches_search(ticket.pk) and not closed_tab.matches_search(other.pk)


def test_rebuild_search_writes_every_document_afresh(connected_bot, agent):
    ticket = make(connected_bot, "a", title="Refund")
    closed = make(connected_bot, "b", title="Refund")
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    tables = [search_index.TABLE]
    if connection.vendor == "sqlite":
        tables.append(search_index.OPEN_TABLE)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
    assert found("refund") == found("refund", "closed") == set()
    call_command("rebuild_search", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert found("refund") == {ticket.pk} and found("refund", "closed") == {closed.pk}


def test_the_search_is_one_lookup_in_the_full_text_index(connected_bot):
    make(connected_bot, "a", title="Refund")
    sql, params = selectors._search_sql(["refund", "ord"])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"{search_index.TABLE}_document" in plan, plan
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan and search_index.TABLE in plan, plan


@pytest.mark.django_db(transaction=True)
def test_migrate_puts_back_triggers_a_table_rebuild_dropped(connected_bot):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps a table's triggers when it is altered")
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER desk_message_search_insert")
    call_command("migrate", verbosity=0)
    make(connected_bot, "a")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Tracking")
    assert len(found("tracking")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_migration_may_rebuild_the_ticket_and_message_tables(connected_bot):
    """SQLite rebuilds a table to alter it (a new table, the rows copied, the old one
    dropped, the new one renamed) and refuses the rename while a trigger on another
    table names it: the index's triggers never do. `migrate` puts back the triggers the
    rebuilt tables lost, and the documents are intact."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL alters a table in place")
    before = make(connected_bot, "a", title="Parcel")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Tracking")
    closed_meanwhile = make(connected_bot, "c", title="Parcel")
    with connection.schema_editor() as editor:
        editor._remake_table(Ticket)
        editor._remake_table(Message)
    Ticket.objects.filter(pk=closed_meanwhile.pk).update(status="closed")  # no trigger yet
    call_command("migrate", verbosity=0)
    assert found("parcel tracking") == {before.pk}
    assert found("parc") == {before.pk} and found("parc", "closed") == {closed_meanwhile.pk}
    after = make(connected_bot, "b", title="Refund")
    services.post_user_message(bot=connected_bot, conversation_id="b", text="Voucher")
    assert found("refund voucher") == {after.pk}


def test_a_transcript_too_big_to_index_still_takes_new_lines(connected_bot):
    """A tsvector holds at most 1 MB of distinct words: past that, the ticket keeps the
    document it had, and its lines are stored all the same."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's tsvector has a size limit")
    ticket = make(connected_bot, "a", title="Enormous")
    rng = random.Random(4)

    def noise() -> str:
        return " ".join(
            "".join(rng.choices(string.ascii_lowercase, k=11)) for _ in range(830)
        )

    lines = [noise() for _ in range(120)]
    Message.objects.bulk_create(
        Message(ticket=ticket, kind="user", text=text, created_at=ticket.created_at)
        for text in lines
    )
    services.post_user_message(bot=connected_bot, conversation_id="a", text="still here")
    assert Message.objects.filter(ticket=ticket).count() == 121
    assert found(lines[0].split()[0]) == set()  # too much at once: not indexed
    assert found("enormous") == {ticket.pk} and found("still here") == {ticket.pk}


@pytest.mark.parametrize("many", [False, True], ids=["few matches", "many matches"])
def test_an_open_list_search_skips_the_closed_history_and_misses_none(
    connected_bot, monkeypatch, many
):
    """An open list's search reads the open tickets' own index (desk.search_index); it
    follows tickets as they close and reopen, and a closed list's search still reads
    them all. "Many matches" is SQLite's other plan (search_q)."""
    if many:
        monkeypatch.setattr(selectors, "MANY_MATCHES", 2)
    oldest, old_open, closed, newest = (
        make(connected_bot, n, title=f"Refund {n}").pk for n in ("a", "b", "c", "d")
    )
    Ticket.objects.filter(pk__in=[oldest, closed]).update(status="closed")
    assert found("refund") == found("refu") == {old_open, newest}
    assert found("refund", "closed") == {oldest, closed}
    Ticket.objects.filter(pk=old_open).update(status="closed")
    assert found("refund") == {newest}
    assert found("refund", "closed") == {oldest, old_open, closed}
    Ticket.objects.filter(pk=oldest).update(status="pending")  # reopened, the oldest
    assert found("refund") == found("refund", "pending") == {oldest, newest}
    Ticket.objects.filter(pk__in=[oldest, newest]).update(status="closed")  # none open
    assert found("refund") == set()
    assert found("refund", "closed") == {oldest, old_open, closed, newest}


def test_a_reopened_ticket_is_found_by_what_it_gained_while_closed(connected_bot, agent):
    """A line added while closed, a title changed as it reopens: an open list finds them,
    and what it lost while open is gone from it."""
    ticket = make(connected_bot, "a", title="Parcel")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Tracking code")
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    Message.objects.create(
        ticket=ticket, kind="note", text="Courier phoned back", created_at=ticket.created_at
    )
    assert found("courier") == set() and found("courier", "closed") == {ticket.pk}
    Ticket.objects.filter(pk=ticket.pk).update(status="pending", title="Damaged parcel")
    assert found("courier phon") == found("damaged tracking") == {ticket.pk}
    Message.objects.filter(ticket=ticket, text="Tracking code").update(text="Label")
    Ticket.objects.filter(pk=ticket.pk).update(title="Lost")
    assert found("tracking") == found("damaged") == set()
    assert found("lost label courier") == {ticket.pk}
    Message.objects.filter(ticket=ticket, text="Label").delete()
    assert found("label") == set() and found("lost") == {ticket.pk}
    ticket.delete()
    assert found("lost") == set()


@pytest.mark.django_db(transaction=True)
def test_the_open_tickets_index_is_made_for_an_existing_database(connected_bot, agent):
    """desk 0017 on a database made before it: the tickets open then are found at once."""
    call_command("migrate", "desk", "0016", verbosity=0)
    if connection.vendor == "sqlite":
        assert search_index.OPEN_TABLE not in connection.introspection.table_names()
    open_one = make(connected_bot, "a", title="Refund")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Voucher")
    closed = make(connected_bot, "b", title="Refund")
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    call_command("migrate", verbosity=0)
    assert found("refund vouch") == {open_one.pk}
    assert found("refu") == {open_one.pk} and found("refu", "closed") == {closed.pk}
    Ticket.objects.filter(pk=closed.pk).update(status="pending")
    assert found("refu") == {open_one.pk, closed.pk}
