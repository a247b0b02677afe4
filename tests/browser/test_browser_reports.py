"""The Reports page in Chromium: a lead opens it from the header, changes the range
(a preset, then custom dates), and downloads a table as CSV; an agent sees their row."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def handled(desk) -> dict:
    """Three escalations of the browser bot: two today that Maya answered and closed (one
    rated 5), one three days ago still waiting for an agent."""
    for n in range(3):
        status, body = desk.bot.start_hitl(conversationId=f"report-{n}", userName=f"User {n}")
        assert status == 201, body
    done = desk.shell(
        "import json\n"
        "from datetime import date, timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.core.management import call_command\n"
        "from django.utils import timezone\n"
        "from desk import services\n"
        "from desk.models import Ticket\n"
        "maya = get_user_model().objects.get(username='maya')\n"
        "for n in (0, 1):\n"
        "    t = Ticket.objects.get(conversation_id=f'report-{n}')\n"
        "    services.ticket_reply(ticket_id=t.pk, agent=maya, text='Hello!')\n"
        "    services.ticket_close(ticket_id=t.pk, agent=maya)\n"
        "Ticket.objects.filter(conversation_id='report-2')"
        ".update(created_at=timezone.now() - timedelta(days=3))\n"
        "call_command('rebuild_reports', verbosity=0)\n"
        "print(json.dumps({'today': timezone.localdate().isoformat()}))\n"
    )
    status, body = desk.bot.call("POST", "/conversations/report-0/rating", {"score": 5})
    assert status == 201, body
    return json.loads(done.strip().splitlines()[-1])


def table_rows(page, table_id: str) -> list[list[str]]:
    return page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} tr`)].map(
            (tr) => [...tr.querySelectorAll("th, td")].map((c) => c.textContent.trim()))""",
        table_id,
    )


def bot_escalations(page) -> str:
    rows = table_rows(page, "bot-table")
    column = rows[0].index("Escalations")
    return next(row[column] for row in rows[1:] if row[0] == "Browser Bot")


def test_a_lead_changes_the_range_and_downloads_the_table(open_page, desk, handled, tmp_path):
    page = open_page("alex")
    page.get_by_role("link", name="Reports").click()
    expect(page).to_have_url(f"{desk.url}/reports/")
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    assert bot_escalations(page) == "3"  # the default: 30 days
    expect(page.locator(".headline")).to_contain_text("CSAT")
    expect(page.locator(".headline")).to_contain_text("5.00")

    page.get_by_role("link", name="Today").click()
    expect(page).to_have_url(f"{desk.url}/reports/?range=today")
    expect(page.get_by_role("link", name="Today")).to_have_attribute("aria-current", "true")
    assert bot_escalations(page) == "2"

    today = handled["today"]
    three_days_ago = (date.fromisoformat(today) - timedelta(days=3)).isoformat()
    page.get_by_label("From", exact=True).fill(three_days_ago)
    page.get_by_label("To", exact=True).fill(three_days_ago)
    expect(page.get_by_role("combobox", name="Range")).to_have_value("custom")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"{desk.url}/reports/?range=custom&from={three_days_ago}&to={three_days_ago}&bot="
    )
    assert bot_escalations(page) == "1"

    page.get_by_role("link", name="Today").click()
    shown = table_rows(page, "bot-table")
    with page.expect_download() as downloading:
        page.locator("#bots-title").locator("..").get_by_role(
            "link", name="Download CSV"
        ).click()
    download = downloading.value
    assert download.suggested_filename == f"desk-bots-{today}-to-{today}.csv"
    path = tmp_path / "bots.csv"
    download.save_as(path)
    assert list(csv.reader(io.StringIO(path.read_text()))) == shown
    assert page.dialogs.seen == []


def test_an_agent_sees_only_their_own_row(open_page, desk, handled):
    page = open_page("maya", color_scheme="dark")
    page.goto("/reports/")
    rows = table_rows(page, "agent-table")
    assert [row[0] for row in rows[1:]] == ["Maya Lopez"]
    assert rows[1][1:3] == ["2", "2"]  # tickets handled, closed
    expect(page.locator("#bot-table")).to_have_count(0)
    expect(page.locator("main svg")).to_have_count(0)  # no charts (the header has icons)
    assert page.request.get("/reports/bots.csv").status == 403  # with Maya's session
    own = page.request.get("/reports/agents.csv").text()
    assert [row[0] for row in csv.reader(io.StringIO(own))][1:] == ["Maya Lopez"]
