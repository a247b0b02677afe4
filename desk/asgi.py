"""ASGI entry point: HTTP through Django, websockets through Channels.

HTTP requests run their sync code on threads kept for reuse (desk/handler.py).
Outermost, the client address (trusted proxies, desk/forwarded.py) and the access log;
websockets then pass Django's CSRF origin rule (desk/origin.py) and session auth.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from desk.handler import ReusingASGIHandler  # noqa: E402

django_asgi_app = ReusingASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from desk.forwarded import AccessLogMiddleware, ClientAddressMiddleware  # noqa: E402
from desk.origin import SameOriginValidator  # noqa: E402
from desk.routing import websocket_urlpatterns  # noqa: E402
from desk.uploads import BodySizeLimit  # noqa: E402

application = ClientAddressMiddleware(
    AccessLogMiddleware(
        ProtocolTypeRouter(
            {
                "http": BodySizeLimit(django_asgi_app),
                "websocket": SameOriginValidator(
                    AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                ),
            }
        )
    )
)
