"""Middleware of our own.

`ApiErrorMiddleware` keeps every answer under /api/ in the bot API's JSON error shape.

`AgentLocaleMiddleware` shows a signed-in agent Desk in their language and time zone,
and keeps the bot API in English.

`StaticFilesMiddleware` is WhiteNoise made async-capable. WhiteNoise's middleware is
sync-only, and one sync-only middleware makes Django run every request under ASGI
on a thread, with async views (the bot API's long-poll, the demo webchat's) blocking
that thread for as long as they wait. This subclass serves static files the same
way and lets every other request pass through on the event loop.
"""

import zoneinfo

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone, translation
from whitenoise.middleware import WhiteNoiseMiddleware

from desk.localization import Locale, locale_and_preferences_of

API_PREFIX = "/api/"
SERVER_ERROR = (
    "Desk could not answer this request because of an error on its side; the error is "
    "logged. Try again later, and tell the Desk operator if it keeps happening."
)


class ApiErrorMiddleware:
    """Under /api/, an error answer that is not JSON becomes the API's error shape
    ({error, message}). The bot API's own errors are JSON already; this catches the
    rest, rendered by Django before or around it: a path that matches no endpoint (404),
    a method an endpoint does not take (405), a refused Host header (400), and the
    debug page or plain text of an unexpected error (500), whatever DEBUG says. Django
    logs those (`django.request`); a bot never sees a traceback or a server path."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        return self.as_json(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        return self.as_json(request, await self.get_response(request))

    @staticmethod
    def as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        if status == 404:
            code = "not_found"
            message = (
                f"No API endpoint at {request.path}. The paths are listed at /api/v1/docs."
            )
        elif status == 405:
            code = "method_not_allowed"
            message = f"{request.method} is not allowed here; use {response.get('Allow', '')}."
        elif status >= 500:
            code = "server_error"
            message = SERVER_ERROR
        else:
            code = "bad_request"
            message = "The request was refused."
        answer = JsonResponse({"error": code, "message": message}, status=status)
        for header in ("Allow", "Retry-After"):
            if header in response:
                answer[header] = response[header]
        return answer


class AgentLocaleMiddleware:
    """After LocaleMiddleware (which chose the browser's language) and the authentication:
    a signed-in agent's own language, if they chose one, and their time zone. Under /api/
    everything stays English, whatever the request asks: the bot API's messages are a
    contract. The agent's choices are on `request.desk_locale` for the page, and what the
    header shows of them (availability, alerts) on `request.desk_preferences`, read in the
    same query."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        locale = preferences = None
        if not request.path_info.startswith(API_PREFIX) and request.user.is_authenticated:
            locale, preferences = locale_and_preferences_of(request.user)
        request.desk_preferences = preferences
        self.activate(request, locale)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        locale = preferences = None
        if not request.path_info.startswith(API_PREFIX):
            user = await request.auser()
            if user.is_authenticated:
                locale, preferences = await sync_to_async(locale_and_preferences_of)(user)
        request.desk_preferences = preferences
        self.activate(request, locale)
        return await self.get_response(request)

    @staticmethod
    def activate(request: HttpRequest, locale: Locale | None) -> None:
        if request.path_info.startswith(API_PREFIX):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        elif locale is not None and locale.language:
            translation.activate(locale.language)
            request.LANGUAGE_CODE = locale.language
        request.desk_locale = locale
        if locale is None:
            timezone.deactivate()
            return
        try:
            timezone.activate(zoneinfo.ZoneInfo(locale.effective_time_zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs) -> None:
        super().__init__(get_response, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if request.path_info.startswith(self.static_prefix):
            if self.autorefresh:
                static_file = await sync_to_async(self.find_file)(request.path_info)
            else:
                static_file = self.files.get(request.path_info)
            if static_file is not None:
                return await sync_to_async(self.serve)(static_file, request)
        return await self.get_response(request)
