"""Views the request-thread tests call (tests/test_request_threads.py): not in Desk."""

import threading
import time

from django.db import connection
from django.http import JsonResponse
from django.urls import path


def where(request):
    """The thread and the database connection this request's sync code ran on."""
    connection.ensure_connection()
    return JsonResponse(
        {"thread": threading.get_ident(), "connection": id(connection.connection)}
    )


def slow(request):
    """A request that holds its thread (a password hash, a slow upstream call)."""
    time.sleep(float(request.GET.get("seconds", "0.5")))
    return JsonResponse({"thread": threading.get_ident()})


urlpatterns = [path("where/", where), path("slow/", slow)]
