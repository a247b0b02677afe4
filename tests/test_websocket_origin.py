"""The live socket's origin check is the one Django's CSRF check applies to forms.

A socket opens only from the page's own origin (scheme, host and port) or one of
CSRF_TRUSTED_ORIGINS: exactly the origins from which a form post would pass. Each
test opens a real socket through the project's ASGI application.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from desk.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def socket_opens(agent, *, origin: str | None, host: str = "localhost",
                       scheme: str = "ws", client=("127.0.0.1", 50000), extra=()) -> bool:
    """Does /ws/desk/ accept this logged-in agent's socket, sent with these headers?"""
    login = Client()
    await sync_to_async(login.force_login)(agent)
    headers = [(b"host", host.encode()), *extra]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers.append((b"cookie", f"sessionid={login.cookies['sessionid'].value}".encode()))
    socket = WebsocketCommunicator(application, "/ws/desk/?inbox=1", headers=headers)
    socket.scope.update(scheme=scheme, client=list(client), server=["127.0.0.1", 8000])
    connected, _ = await socket.connect()
    await socket.disconnect()
    return connected


def form_post_passes(origin: str, host: str = "localhost") -> bool:
    """Does a form post with this Origin pass Django's CSRF check (token and cookie right)?"""
    browser = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    token = browser.get("/login/").cookies["csrftoken"].value
    response = browser.post(
        "/login/", {"username": "nobody", "password": "x", "csrfmiddlewaretoken": token},
        headers={"Origin": origin},
    )
    return response.status_code != 403


ORIGINS = [
    "http://localhost",  # the page's own origin
    "http://localhost:9999",  # another port of the same host
    "https://localhost",  # another scheme
    "http://evil.example",  # another host
    "null",  # a sandboxed frame or a file
]


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_socket_opens_exactly_from_the_origins_a_form_post_passes_from(agent, origin):
    form_passes = await sync_to_async(form_post_passes)(origin)
    assert await socket_opens(agent, origin=origin) is form_passes
    assert form_passes is (origin == "http://localhost")


async def test_a_socket_from_another_port_of_the_same_host_is_refused(agent):
    assert await socket_opens(agent, origin="http://127.0.0.1:8000", host="127.0.0.1:8000")
    assert not await socket_opens(agent, origin="http://127.0.0.1:9999", host="127.0.0.1:8000")


async def test_a_socket_from_another_scheme_is_refused(agent):
    assert await socket_opens(agent, origin="https://localhost", scheme="wss")
    assert not await socket_opens(agent, origin="https://localhost", scheme="ws")
    assert not await socket_opens(agent, origin="http://localhost", scheme="wss")


async def test_a_socket_without_an_origin_or_for_a_host_not_allowed_is_refused(agent):
    assert not await socket_opens(agent, origin=None)
    assert not await socket_opens(agent, origin="http://evil.example", host="evil.example")


async def test_a_socket_from_a_csrf_trusted_origin_opens(agent, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example.com", "https://*.example.org"]
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    for origin in ("https://desk.example.com", "https://chat.example.org"):
        assert await socket_opens(agent, origin=origin, host="127.0.0.1:8001")
    assert not await socket_opens(agent, origin="http://desk.example.com", host="127.0.0.1:8001")


async def test_behind_a_trusted_tls_proxy_the_https_page_opens_its_socket(agent, settings):
    settings.DESK_TRUSTED_PROXIES = ["10.0.0.2"]
    https = [(b"x-forwarded-proto", b"https")]
    assert await socket_opens(
        agent, origin="https://localhost", client=("10.0.0.2", 1), extra=https
    )
    # The same header from anyone else is not believed.
    assert not await socket_opens(
        agent, origin="https://localhost", client=("203.0.113.9", 1), extra=https
    )
