"""The cast every test can call on: an admin, two agents, API keys, deployed and connected bots."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from bots.services import api_key_create, bot_deploy, bot_set_connected
from desk.models import AgentProfile

DB_FIXTURES = ("db", "transactional_db", "django_db_reset_sequences",
               "django_db_serialized_rollback", "live_server")


class SlowFirst:
    """`make test` spreads the tests over pytest-xdist workers a module at a time (`--dist
    loadscope`: a module's servers and browser start once), in the order collected. The
    slow tests that use no test database (real processes: servers, browsers, `make run`, a
    crash) come first, so that the longest are not left running alone at the end. Those
    that use the database keep pytest-django's order (plain, then transactional), which is
    why this runs after it."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        items.sort(key=lambda item: 0 if is_slow_without_db(item) else 1)


def is_slow_without_db(item) -> bool:
    if not item.get_closest_marker("slow") or item.get_closest_marker("django_db"):
        return False
    return not any(name in item.fixturenames for name in DB_FIXTURES)


def pytest_configure(config):
    config.pluginmanager.register(SlowFirst(), "desk-slow-first")


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_user(
        "alex", password="pw-alex-123", first_name="Alex", last_name="Admin", is_staff=True
    )


@pytest.fixture
def agent(db):
    return get_user_model().objects.create_user(
        "maya", password="pw-maya-123", first_name="Maya", last_name="Lopez"
    )


@pytest.fixture
def other_agent(db):
    return get_user_model().objects.create_user(
        "sam", password="pw-sam-123", first_name="Sam", last_name="Okafor"
    )


@pytest.fixture
def api_key_pair(db):
    """(ApiKey, plain key): a key restricted to the bots it deploys, the default."""
    return api_key_create(name="test bot key")


@pytest.fixture
def api_key(api_key_pair) -> str:
    """The plain API key (what a bot holds)."""
    return api_key_pair[1]


@pytest.fixture
def deployed_bot(api_key_pair):
    """A bot deployed with the `api_key` key, not yet enabled."""
    bot, _ = bot_deploy(bot_id="support-bot", api_key=api_key_pair[0], name="Support Bot")
    return bot


@pytest.fixture
def connected_bot(deployed_bot):
    return bot_set_connected(bot_id=deployed_bot.bot_id, connected=True)


class BotClient:
    """A bot talking JSON to the API with its key."""

    def __init__(self, key: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"}

    def _send(self, method: str, path: str, body=None, **headers):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body or {})
        return getattr(self.client, method)(
            path, data=data, content_type="application/json", headers={**self.headers, **headers}
        )

    def put(self, path, body=None, **headers):
        return self._send("put", path, body, **headers)

    def post(self, path, body=None, **headers):
        return self._send("post", path, body, **headers)

    def get(self, path, **headers):
        return self.client.get(path, headers={**self.headers, **headers})


@pytest.fixture
def bot_api(api_key) -> BotClient:
    return BotClient(api_key)


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def agent_client(agent) -> Client:
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture(autouse=True)
def file_storage(settings, tmp_path):
    """Every test keeps the files it stores in a folder of its own (STORAGES["default"])."""
    location = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A page asked for in another language leaves that language active in the thread
    (LocaleMiddleware activates it and nothing deactivates it): without this, whatever a
    later test renders outside a request (a live fragment, a task) would be in German."""
    yield
    translation.deactivate()


@pytest.fixture
def german_client(other_agent) -> Client:
    """Sam reads Desk in German (chosen on the profile), whatever the browser says."""
    AgentProfile.objects.update_or_create(agent=other_agent, defaults={"language": "de"})
    client = Client()
    client.force_login(other_agent)
    return client
