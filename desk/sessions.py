"""The session and account of a websocket, as Channels' `AuthMiddlewareStack` gives them,
without its wrapper around every frame sent.

Channels' session middleware wraps `send` so that an HTTP response's start saves a
changed session and sets its cookie. A websocket sends no such message, yet the wrapper
read the session's `modified` and `is_empty()` and a setting through lazy objects on
every frame: about 4 % of a process's time in a broadcast to a thousand tabs
(docs/perf.md, "Fan-out: the collector and the frame's path"). Here a websocket's
frames go straight to the server; the scope's session and user are the same as before.
"""

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware


class WebsocketSessionMiddleware(SessionMiddleware):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_auth_stack(inner):
    """`channels.auth.AuthMiddlewareStack`, with the session middleware above."""
    return CookieMiddleware(WebsocketSessionMiddleware(AuthMiddleware(inner)))
