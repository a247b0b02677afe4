"""A real Desk server process and a real Chromium for the browser tests.

Each test module gets one server (its own SQLite file under a temporary directory, a
copy of one migrated database with the cast and the API key made once per test
process; `manage.py serve` on a free port, the delivery worker embedded) and one
headless Chromium; each test opens its own browser contexts.
The cast: Alex (admin), Maya and Sam (agents), with known passwords, and a
connected bot that holds an API key.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import BotSide, DeskServer, create_agents, desk_env, manage

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

CAST = {
    # username: (password, first name, last name, admin)
    "alex": ("alex-pw-3k9d!", "Alex", "Admin", True),
    "maya": ("maya-pw-7q2v!", "Maya", "Lopez", False),
    "sam": ("sam-pw-5x8h!", "Sam", "Okafor", False),
}

BOT_ID = "browser-bot"
AGENT_ASSIGNED = "You're now talking to {agentName}, a person on our team."
SESSION_ENDED = "Our agent closed the chat. The bot is back to help you."


def require(condition: bool, reason: str) -> None:
    """Skip with `reason` on a developer's machine; under CI a missing piece fails the run."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must not skip the browser tests)")
        pytest.skip(reason)


class Desk:
    """The running server, its environment and the bot that talks to it."""

    def __init__(self, server: DeskServer, env: dict[str, str], bot: BotSide) -> None:
        self.server, self.env, self.bot = server, env, bot

    @property
    def url(self) -> str:
        return self.server.url

    def shell(self, code: str) -> str:
        """Run Python in a `manage.py shell` against the same database."""
        return manage(self.env, "shell", "-c", code)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory) -> tuple[Path, str]:
    """One migrated database with the cast and an API key (its path and the key), made
    once per test process: each module's server starts from a copy of it."""
    var = tmp_path_factory.mktemp("desk-migrated")
    path = var / "desk.sqlite3"
    env = desk_env(DESK_VAR_DIR=str(var), SQLITE_PATH=str(path))
    manage(env, "migrate", "--noinput")
    create_agents(env, CAST)
    return path, manage(env, "create_api_key", "browser tests").strip()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, whatever its journal holds."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture(scope="module")
def desk(request, tmp_path_factory, migrated) -> Iterator[Desk]:
    """The module's server. A module that sets DESK_DEMO = True also gets the demo data
    (`manage.py demo_setup`: the demo webchat bot at /demo/ and three sample tickets);
    one that sets DESK_ENV = {...} runs it with those settings."""
    var = tmp_path_factory.mktemp("desk-var")
    env = desk_env(
        DESK_VAR_DIR=str(var), SQLITE_PATH=str(var / "desk.sqlite3"), DESK_EMBEDDED_WORKER="true",
        **getattr(request.module, "DESK_ENV", {}),  # a module's own settings
    )
    database, key = migrated
    copy_database(database, var / "desk.sqlite3")
    if getattr(request.module, "DESK_DEMO", False):
        manage(env, "demo_setup")  # keeps our cast's passwords: it only adds missing users
    server = DeskServer("desk", env, var)
    server.start()
    try:
        bot = BotSide(server.url, key, BOT_ID)
        bot.deploy(
            name="Browser Bot",
            agentAssignedMessage=AGENT_ASSIGNED,
            sessionEndedMessage=SESSION_ENDED,
        )
        manage(env, "connect_bot", BOT_ID)
        yield Desk(server, env, bot)
    finally:
        server.stop()
        keep = os.environ.get("DESK_KEEP_LOGS")
        if keep:
            shutil.copytree(var, Path(keep) / var.name, dirs_exist_ok=True)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # a loaded 2-core CI machine is slower than a laptop

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


class Dialogs:
    """Every alert/confirm/prompt a page opened: an XSS payload that ran shows up here."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, dialog) -> None:
        self.seen.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def open_page(browser, desk):
    """open_page(username=None, color_scheme="light") → a page in a fresh context,
    logged in through the login form when a username is given. Each page records
    its dialogs on `page.dialogs`."""
    contexts = []

    def open_page(username: str | None = None, *, color_scheme: str = "light",
                  viewport: dict | None = None):
        context = browser.new_context(
            base_url=desk.url, color_scheme=color_scheme,
            viewport=viewport or {"width": 1280, "height": 800},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = Dialogs()
        page.on("dialog", page.dialogs)
        if username:
            log_in(page, username)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def sign_in():
    """sign_in(page, username): log a page in through the login form (for module fixtures)."""
    return log_in


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(CAST[username][0])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
