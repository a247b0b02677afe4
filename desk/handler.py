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
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

# Idle request threads kept (each with its SQLite connection): enough for the requests
# a busy process runs at once; beyond it, threads of a burst stop when it passes.
KEEP_IDLE = 8


class ReusingASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

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


def _request_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-request")
