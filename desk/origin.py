"""The websocket handshake's origin check: the rule Django's CSRF check applies to forms.

A socket is accepted only when its Origin is the request's own origin (scheme, host
and port; the Host header must be one of ALLOWED_HOSTS, as for any request) or one of
CSRF_TRUSTED_ORIGINS (`https://*.example.com` covering the subdomains), exactly what
`CsrfViewMiddleware` asks of a form post. Channels' AllowedHostsOriginValidator
compared only the Origin's host name with ALLOWED_HOSTS, so a page on another port
or scheme of the same host could open an agent's socket with the agent's cookies.
"""

from collections import defaultdict
from io import BytesIO
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.utils.http import is_same_domain


def _handshake_as_request(scope: dict) -> ASGIRequest:
    """The handshake as Django reads an HTTP request: Host, ALLOWED_HOSTS, the scheme
    (or SECURE_PROXY_SSL_HEADER), USE_X_FORWARDED_HOST."""
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, BytesIO())


def origin_allowed(scope: dict) -> bool:
    origins = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"origin"]
    if len(origins) != 1:
        return False  # browsers always send exactly one
    origin = origins[0]
    request = _handshake_as_request(scope)
    try:
        own_origin = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    except DisallowedHost:
        return False  # Django answers such an HTTP request 400
    if origin == own_origin:
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in {o for o in trusted if "*" not in o}:
        return True
    subdomains = defaultdict(list)
    for parsed in (urlsplit(o) for o in trusted if "*" in o):
        subdomains[parsed.scheme].append(parsed.netloc.lstrip("*"))
    try:
        parsed_origin = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed_origin.netloc, host)
        for host in subdomains.get(parsed_origin.scheme, ())
    )


class SameOriginValidator:
    """Refuses (closes before accepting) a websocket whose Origin a form post would fail."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websockets only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
