"""The agent's pages: the inbox."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from desk.selectors import inbox_tickets

PAGE_SIZE = 25


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(inbox_tickets(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "desk/inbox.html", {"page": page, "tickets": page.object_list})
