"""The benchmark server's ASGI app: Desk's application, plus the baseline routes.

HTTP goes through Desk's own Django handler (with bench.settings, whose URLconf adds
/bench/ views); websockets under /bench/ws/ reach the bare relay consumer through the
same origin check and auth stack as Desk's; every other websocket goes to Desk.
Serve with: daphne bench.baseline_asgi:application
"""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.consumers import RelayConsumer  # noqa: E402
from desk.asgi import application as desk_application  # noqa: E402
from desk.origin import SameOriginValidator  # noqa: E402

bench_websocket = SameOriginValidator(
    AuthMiddlewareStack(URLRouter([path("bench/ws/relay/<str:group>/", RelayConsumer.as_asgi())]))
)


async def application(scope, receive, send):
    if scope["type"] == "websocket" and scope["path"].startswith("/bench/ws/"):
        return await bench_websocket(scope, receive, send)
    return await desk_application(scope, receive, send)
