"""The Reports page: who sees what, its range and bot filter, and its CSV downloads."""

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from bots.services import bot_deploy, bot_set_connected
from desk import services
from desk.models import Ticket

CHART = re.compile(r'<svg [^>]*role="img"')  # a chart, not an icon

pytestmark = pytest.mark.django_db


class Tables(HTMLParser):
    """Every <table id=…> of a page as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables(response) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def handled(connected_bot, agent, other_agent, admin_user):
    """Tickets of two bots handled by Maya and Sam today: Maya closes two (rated 4 and 5),
    Sam closes one, one waits for an agent, one the bot stops."""
    bot_deploy(bot_id="sales-bot", api_key=None, name="Sales Bot")
    sales = bot_set_connected(bot_id="sales-bot", connected=True)
    for n, (bot, who) in enumerate(
        [(connected_bot, agent), (connected_bot, agent), (sales, other_agent)]
    ):
        ticket, _ = services.start_hitl(bot=bot, conversation_id=f"done-{n}")
        services.ticket_reply(ticket_id=ticket.pk, agent=who, text="Hello!")
        services.ticket_close(ticket_id=ticket.pk, agent=who)
        if who == agent:
            services.rate_conversation(bot=bot, conversation_id=f"done-{n}", score=4 + n)
    services.start_hitl(bot=connected_bot, conversation_id="waiting", priority="urgent")
    services.start_hitl(bot=sales, conversation_id="gone")
    services.stop_hitl(bot=sales, conversation_id="gone")
    return {"support": connected_bot, "sales": sales}


def test_it_needs_login(client):
    answer = client.get("/reports/")
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert client.get("/reports/agents.csv").status_code == 302


def test_every_agent_finds_reports_in_the_header(agent_client, admin_client):
    for client in (agent_client, admin_client):
        assert 'href="/reports/"' in client.get("/").content.decode()


def test_an_admin_reads_volumes_waits_csat_and_both_tables(admin_client, handled):
    answer = admin_client.get("/reports/", {"range": "7d"})
    page = answer.content.decode()
    assert answer.status_code == 200
    for heading in ("Escalations", "Time to assignment", "First reply", "Resolution", "CSAT",
                    "Deflection", "Escalations per day, by outcome", "First reply per day"):
        assert heading in page
    assert len(CHART.findall(page)) == 2
    found = tables(answer)
    bots = {row[0]: row for row in found["bot-table"][1:]}
    headers = found["bot-table"][0]
    assert bots["Support Bot"][headers.index("Escalations")] == "3"
    assert bots["Support Bot"][headers.index("Closed by agent")] == "2"
    assert bots["Support Bot"][headers.index("Open")] == "1"
    assert bots["Support Bot"][headers.index("CSAT (1–5)")] == "4.50"
    assert bots["Sales Bot"][headers.index("Bot stopped")] == "1"
    agents = {row[0]: row for row in found["agent-table"][1:]}
    assert agents["Maya Lopez"][1:3] == ["2", "2"]
    assert agents["Sam Okafor"][1:3] == ["1", "1"]


def test_waiting_tickets_are_open_and_a_silent_customers_close_has_its_column(
    admin_client, connected_bot, agent
):
    for name in ("silent", "waits"):
        ticket, _ = services.start_hitl(bot=connected_bot, conversation_id=name)
        services.ticket_claim(ticket_id=ticket.pk, agent=agent)
        ticket = services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    silent = Ticket.objects.get(conversation_id="silent")
    services.close_silent_waiting(ticket_id=silent.pk, since=silent.waiting_started_at)
    answer = admin_client.get("/reports/", {"range": "7d"})
    found = tables(answer)
    headers = found["bot-table"][0]
    row = {r[0]: r for r in found["bot-table"][1:]}["Support Bot"]
    assert row[headers.index("Escalations")] == "2"
    assert row[headers.index("Customer silent")] == "1"
    assert row[headers.index("Open")] == "1"
    assert "Closed: the customer did not answer" in answer.content.decode()
    exported = csv_rows(admin_client.get("/reports/bots.csv", {"range": "7d"}))
    assert "Customer silent" in exported[0]


def test_an_agent_sees_only_their_own_row(agent_client, handled):
    answer = agent_client.get("/reports/", {"range": "7d"})
    found = tables(answer)
    assert list(found) == ["agent-table"]
    rows = found["agent-table"][1:]
    assert [row[0] for row in rows] == ["Maya Lopez"]
    page = answer.content.decode()
    assert "Sam Okafor" not in page and "Sales Bot</th>" not in page
    assert not CHART.findall(page)  # no charts (the header's icons are SVGs too)
    assert [row[0] for row in csv_rows(agent_client.get("/reports/agents.csv"))[1:]] == [
        "Maya Lopez"
    ]
    assert agent_client.get("/reports/bots.csv").status_code == 403


@pytest.mark.parametrize("name, table_id", [("bots", "bot-table"), ("agents", "agent-table")])
@pytest.mark.parametrize("query", [{"range": "7d"}, {"range": "today", "bot": "sales-bot"}])
def test_each_csv_equals_its_table_with_the_same_filters(
    admin_client, handled, name, table_id, query
):
    page = admin_client.get("/reports/", query)
    download = admin_client.get(f"/reports/{name}.csv", query)
    assert download["Content-Disposition"].startswith(f'attachment; filename="desk-{name}-')
    assert csv_rows(download) == tables(page)[table_id]
    assert len(csv_rows(download)) > 1


def test_the_bot_filter_narrows_every_figure(admin_client, handled):
    found = tables(admin_client.get("/reports/", {"range": "today", "bot": "sales-bot"}))
    assert [row[0] for row in found["bot-table"][1:]] == ["Sales Bot"]
    agents = {row[0]: row[1] for row in found["agent-table"][1:]}
    assert agents["Sam Okafor"] == "1" and agents["Maya Lopez"] == "0"


def test_the_range_and_bot_are_kept_in_the_links(admin_client, handled):
    page = admin_client.get("/reports/", {"range": "7d", "bot": "sales-bot"}).content.decode()
    assert 'href="?range=today&amp;bot=sales-bot"' in page
    assert 'href="?range=30d&amp;bot=sales-bot"' in page
    assert "/reports/bots.csv?range=7d&amp;bot=sales-bot" in page
    assert "/reports/agents.csv?range=7d&amp;bot=sales-bot" in page


def test_a_custom_range_shows_those_days_and_the_period_before(admin_client, handled):
    today = timezone.localdate()
    start = today - timedelta(days=2)
    answer = admin_client.get(
        "/reports/", {"range": "custom", "from": start.isoformat(), "to": today.isoformat()}
    )
    page = answer.content.decode()
    assert f'value="{start.isoformat()}"' in page
    before = start - timedelta(days=3)
    assert f"compared with {before:%b} {before.day}" in page


def test_a_range_ending_before_the_tickets_shows_none(admin_client, handled):
    old = timezone.localdate() - timedelta(days=40)
    answer = admin_client.get(
        "/reports/", {"range": "custom", "from": old.isoformat(), "to": old.isoformat()}
    )
    bots = tables(answer)["bot-table"][1:]
    assert {row[1] for row in bots} == {"0"}
    assert "No escalations in this period" in answer.content.decode()


@pytest.mark.parametrize(
    "query", [{"range": "custom", "from": "yesterday"}, {"range": "forever"}, {"bot": "x" * 300}]
)
def test_a_malformed_range_falls_back_to_30_days(admin_client, handled, query):
    answer = admin_client.get("/reports/", query)
    assert answer.status_code == 200
    assert 'aria-current="true">30 days<' in answer.content.decode()


def test_the_headline_compares_with_the_previous_period(admin_client, handled):
    # A ticket of yesterday: "today" has 5 escalations against 1 the day before.
    ticket, _ = services.start_hitl(bot=handled["support"], conversation_id="old")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(days=1))
    from django.core.management import call_command

    call_command("rebuild_reports")
    page = admin_client.get("/reports/", {"range": "today"}).content.decode()
    assert "▲ 400 %" in page
