"""Desk's login and logout pages; failed logins are throttled per username and per client
address, and logging out closes that session's open tabs at once."""

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from desk import realtime

MAX_FAILURES_PER_USER = 5  # from one address, for one username
MAX_FAILURES_PER_ADDRESS = 20  # from one address, any usernames
WINDOW_SECONDS = 15 * 60


def _keys(request: HttpRequest) -> tuple[str, str]:
    address = request.META.get("REMOTE_ADDR", "unknown")
    username = (request.POST.get("username") or "").strip().lower()[:150]
    return f"login-fail:{address}:{username}", f"login-fail:{address}"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user_key, address_key = _keys(request)
        if (
            cache.get(user_key, 0) >= MAX_FAILURES_PER_USER
            or cache.get(address_key, 0) >= MAX_FAILURES_PER_ADDRESS
        ):
            response = self.render_to_response(
                self.get_context_data(form=self.get_form(), throttled=True), status=429
            )
            response["Retry-After"] = str(WINDOW_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        for key in _keys(self.request):
            cache.add(key, 0, WINDOW_SECONDS)
            cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        cache.delete(_keys(self.request)[0])
        return super().form_valid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        session_key = request.session.session_key
        response = super().post(request, *args, **kwargs)
        if session_key:
            # The session is gone from the store now: its tabs stop receiving live data.
            realtime.announce_session_ended(session_key)
        return response
