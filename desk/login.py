"""Desk's login and logout pages. Failed logins are throttled per username, per address
and per both; logging out closes that session's open tabs at once.

Three counters, each over WINDOW_SECONDS: one username from one address, one username
from any addresses (rotating addresses does not help), one address whatever the
usernames. The address is the client's as desk/forwarded.py resolves it (forwarded
headers only from DESK_TRUSTED_PROXIES).

An attempt takes its place in every counter *before* the password is checked, with
the cache's atomic increment (Redis when REDIS_URL is set, shared by every server
process; otherwise the process's own memory), and goes through only if no counter
is then over its limit. So concurrent attempts cannot all pass one check-then-count:
however many arrive at once, at most the limit reach the password check. A refused
attempt gives its places back (it checked nothing), and stops at the first counter
over its limit (so it does not crowd the others); a success gives its places back too.

The cost of the per-username limit: anyone can lock an account's logins for the
window by failing on purpose. The window is short and an admin is not needed to
lift it; the other choice, letting a password be guessed from many addresses, is
worse.
"""

import hashlib

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from desk import realtime

MAX_FAILURES_PER_USER_AND_ADDRESS = 5  # one username, from one address
MAX_FAILURES_PER_USER = 10  # one username, from any addresses
MAX_FAILURES_PER_ADDRESS = 20  # one address, any usernames
WINDOW_SECONDS = 15 * 60


def _counters(request: HttpRequest) -> list[tuple[str, int]]:
    """(cache key, limit) of each counter this attempt counts in."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    username = (request.POST.get("username") or "").strip().lower()[:150]
    user = hashlib.sha256(username.encode()).hexdigest()[:32]  # a safe cache key
    return [
        (f"login-fail:pair:{address}:{user}", MAX_FAILURES_PER_USER_AND_ADDRESS),
        (f"login-fail:user:{user}", MAX_FAILURES_PER_USER),
        (f"login-fail:addr:{address}", MAX_FAILURES_PER_ADDRESS),
    ]


def _take(key: str) -> int:
    """Count one more attempt under `key`; the new count (an atomic increment)."""
    for _ in range(3):
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            return cache.incr(key)
        except ValueError:  # it expired between add and incr: start it again
            continue
    raise RuntimeError(f"the cache does not keep {key!r}")


def _give_back(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:  # expired meanwhile: nothing to give back
        pass


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
    _counted: list[tuple[str, int]] = []

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        counters = _counters(request)
        for taken, (key, limit) in enumerate(counters):
            if _take(key) > limit:
                for counted, _ in counters[: taken + 1]:
                    _give_back(counted)
                return self._throttled()
        self._counted = counters  # a failure keeps its places
        return super().post(request, *args, **kwargs)

    def _throttled(self) -> HttpResponse:
        response = self.render_to_response(
            self.get_context_data(form=self.get_form(), throttled=True), status=429
        )
        response["Retry-After"] = str(WINDOW_SECONDS)
        return response

    def form_valid(self, form) -> HttpResponse:
        for key, _ in self._counted:
            _give_back(key)
        cache.delete(self._counted[0][0])  # this username's failures from this address
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        session_key = request.session.session_key
        response = super().post(request, *args, **kwargs)
        if session_key:
            # The session is gone from the store now: its tabs stop receiving live data.
            realtime.announce_session_ended(session_key)
        return response
