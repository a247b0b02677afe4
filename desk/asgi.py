"""ASGI entry point: HTTP through Django, websockets through Channels.

HTTP requests run their sync code on threads kept for reuse (desk/handler.py); the
garbage collector is paced for a process holding thousands of tabs (desk/collector.py).
Outermost, the client address (trusted proxies, desk/forwarded.py) and the access log;
websockets then pass Django's CSRF origin rule (desk/origin.py) and session auth
(desk/sessions.py).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from desk.collector import pace_for_server  # noqa: E402

pace_for_server()  # thousands of open tabs: full collections less often (desk/collector.py)

from desk.handler import ReusingASGIHandler  # noqa: E402

django_asgi_app = ReusingASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from desk.forwarded import AccessLogMiddleware, ClientAddressMiddleware  # noqa: E402
from desk.origin import SameOriginValidator  # noqa: E402
from desk.routing import websocket_urlpatterns  # noqa: E402
from desk.sessions import websocket_auth_stack  # noqa: E402
from desk.uploads import BodySizeLimit  # noqa: E402

application = ClientAddressMiddleware(
    AccessLogMiddleware(
        ProtocolTypeRouter(
            {
                "http": BodySizeLimit(django_asgi_app),
                "websocket": SameOriginValidator(
                    websocket_auth_stack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
)
