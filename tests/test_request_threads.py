"""HTTP requests run their sync code on threads kept for reuse (desk/handler.py): the
next request takes a finished request's thread with its database connection still open,
while a slow request still holds only its own thread, so the others go on beside it.

Requests go through the project's ASGI application (httpx's ASGI transport).
"""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from desk import handler
from desk.asgi import application, django_asgi_app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def http(settings):
    settings.ROOT_URLCONF = "tests.request_threads_urls"
    settings.ALLOWED_HOSTS = ["localhost"]
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def test_the_next_request_reuses_a_finished_ones_thread_and_connection(http):
    async with http:
        first = (await http.get("/where/")).json()
        second = (await http.get("/where/")).json()
    assert second == first


async def test_slow_requests_run_side_by_side(http):
    async with http:
        started = time.monotonic()
        answers = await asyncio.gather(*(http.get("/slow/?seconds=0.6") for _ in range(4)))
        took = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["thread"] for a in answers}) == 4
    assert took < 4 * 0.6 * 0.7, f"four 0.6 s requests took {took:.2f} s: not side by side"


async def test_a_request_waits_for_no_slow_one(http):
    async with http:
        slow = asyncio.ensure_future(http.get("/slow/?seconds=1.5"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        assert (await http.get("/where/")).status_code == 200
        assert time.monotonic() - started < 1.0
        assert (await slow).status_code == 200


def request_threads() -> int:
    return sum(t.name.startswith("desk-request") for t in threading.enumerate())


async def test_after_a_burst_only_a_few_idle_threads_stay(http):
    burst = handler.KEEP_IDLE + 6
    async with http:
        answers = await asyncio.gather(*(http.get("/slow/?seconds=0.3") for _ in range(burst)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["thread"] for a in answers}) == burst
    deadline = time.monotonic() + 5
    while request_threads() > handler.KEEP_IDLE and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert request_threads() <= handler.KEEP_IDLE


class CountingThread(ThreadPoolExecutor):
    """A request thread that counts the hops handed to it."""

    hops = 0

    def submit(self, *args, **kwargs):
        CountingThread.hops += 1
        return super().submit(*args, **kwargs)


async def test_a_sync_view_runs_its_middleware_on_its_thread_in_one_hop(
    settings, monkeypatch, connected_bot, api_key
):
    """Django's async chain hands each `process_request`/`process_response` of the
    middleware to the request's thread and back (about fifteen hops); a sync view, a bot
    API call or a page, gets the same middleware, chained on its thread, in one hop. Same
    headers as an answer of the async chain (a path no view answers goes that way)."""
    settings.ALLOWED_HOSTS = ["localhost"]
    monkeypatch.setattr(
        handler, "_request_thread", lambda: CountingThread(max_workers=1)
    )
    monkeypatch.setattr(django_asgi_app, "_idle", [])  # no thread but counting ones
    app = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://localhost",
        headers={"Authorization": f"Bearer {api_key}"},
    )
    async with app:
        CountingThread.hops = 0
        answer = await app.post(
            f"/api/v1/bots/{connected_bot.bot_id}/startHitl", json={"conversationId": "c1"}
        )
        api_hops, CountingThread.hops = CountingThread.hops, 0
        page = await app.get("/login/")
        page_hops, CountingThread.hops = CountingThread.hops, 0
        missing = await app.get("/no-such-page/")
        async_hops = CountingThread.hops
    assert answer.status_code == 201, answer.content
    assert answer.json()["conversationId"] == "c1"
    assert page.status_code == 200 and missing.status_code == 404
    # The request's start and end signals, and the request itself.
    assert api_hops <= 4, f"{api_hops} hops onto the request's thread"
    assert page_hops <= 4, f"{page_hops} hops onto the request's thread"
    assert async_hops > 8, "the async chain's hops were not counted"
    for header in ("X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                   "Cross-Origin-Opener-Policy", "Content-Language"):
        assert answer.headers.get(header) == missing.headers.get(header), header
        assert page.headers.get(header) == missing.headers.get(header), header
        assert answer.headers.get(header), header


async def test_a_long_poll_still_waits_on_the_async_chain(settings, connected_bot, api_key):
    """The bot API's async views (the long polls) keep Django's async chain: several
    wait side by side and answer when their wait is over."""
    settings.ALLOWED_HOSTS = ["localhost"]
    app = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://localhost",
        headers={"Authorization": f"Bearer {api_key}"}, timeout=10,
    )
    url = f"/api/v1/bots/{connected_bot.bot_id}/events?after=0&wait=1"
    async with app:
        started = time.monotonic()
        answers = await asyncio.gather(*(app.get(url) for _ in range(4)))
        took = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json()["events"] for a in answers] == [[]] * 4
    assert 1 <= took < 3
