"""`manage.py rebuild_search`: write every ticket's search document afresh, and count
the closed tickets afresh.

The database's triggers keep the inbox search's index and the count of closed tickets
current by themselves (desk.search_index, desk.closed_count). Run this after restoring a
database from a dump taken without them (or with its triggers disabled), or if a SQLite
migration rebuilt a table while writes went on without its triggers. It takes one
transaction; the inbox's searches and writes to tickets wait for it.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from desk import closed_count, search_index
from desk.models import Ticket


class Command(BaseCommand):
    help = (
        "Rewrite every ticket's search document (the inbox search's index) and count the "
        "closed tickets afresh."
    )

    def handle(self, *args, **options) -> None:
        if connection.vendor not in search_index.VENDORS:
            raise CommandError(
                f"The search index needs PostgreSQL or SQLite, not {connection.vendor}."
            )
        if not search_index.installed(connection):
            raise CommandError("There is no search index yet: run `manage.py migrate` first.")
        started = time.perf_counter()
        with transaction.atomic():
            search_index.rebuild(connection)
            closed = closed_count.recount(connection)
        self.stdout.write(
            f"Rebuilt the search documents of {Ticket.objects.count():,} tickets and "
            f"counted {closed:,} closed in {time.perf_counter() - started:.1f} s."
        )
