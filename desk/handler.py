"""Django's ASGI handler, with the threads that run requests' sync code kept for reuse.

Django runs each HTTP request's sync code (middleware, views, the ORM) on a thread of
the request's own: a new thread per request, so a new database connection per request
too, since Django's connections belong to their thread. On SQLite that connection costs
more than a small view's whole database work (opening the file and its WAL index,
registering Django's SQL functions, the PRAGMAs; about 2 ms on a busy machine, with the
close after it).

Here a finished request's thread goes back to an idle list and the next request takes
it, with its connection still open (SQLite connections are kept: CONN_MAX_AGE=None in
desk.settings; PostgreSQL's go back to their pool at the request's end as before). A
request still gets a thread to itself for as long as it runs, as in Django: a slow
request (a password hash, a long-poll, a slow client) holds only its own, and when every
idle thread is taken a new one starts. At most KEEP_IDLE wait for reuse; one more is
stopped, its connections closed on it first.

A request to a sync view (every page and bot API call but the long polls) runs the
whole middleware chain on that thread, in one hop. In Django's async chain each
middleware written as `process_request` and `process_response` (sessions, locale, CSRF,
messages...) hops onto the request's thread and back for each of its methods: 18 hops
per startHitl, each a task handed to the thread, a wake-up and a future resolved on the
event loop. The sync chain is the same middleware in the same order, so the answer is
the same; only the async views (the long polls) keep the async chain, which lets them
wait without holding a thread.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, get_urlconf

# Idle request threads kept (each with its SQLite connection): enough for the requests
# a busy process runs at once; beyond it, threads of a burst stop when it passes.
KEEP_IDLE = 8


class ReusingASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._sync = BaseHandler()  # the same middleware, chained for a sync caller
        self._sync.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponse:
        if not _sync_view(request):
            return await super().get_response_async(request)
        return await sync_to_async(self._sync.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        executor = self._idle.pop() if self._idle else _request_thread()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < KEEP_IDLE:
                self._idle.append(executor)
            else:
                executor.submit(connections.close_all)
                executor.shutdown(wait=False)


def _sync_view(request: HttpRequest) -> bool:
    """Whether the request is for a sync view (see the module's doc); a path no view
    answers (a static file, a 404) goes the async way, as in Django."""
    try:
        view = get_resolver(get_urlconf()).resolve(request.path_info).func
    except Resolver404:
        return False
    return not iscoroutinefunction(view)


def _request_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-request")
