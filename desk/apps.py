from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class DeskConfig(AppConfig):
    name = "desk"
    verbose_name = "Desk"

    def ready(self) -> None:
        post_migrate.connect(_keep_search_triggers, sender=self)


def _keep_search_triggers(sender, using: str = "default", **kwargs) -> None:
    """After every `migrate`: SQLite loses a table's triggers when a migration rebuilds
    the table, so the search index's and the closed count's are put back
    (desk.search_index.ensure, desk.closed_count.ensure)."""
    from desk import closed_count, search_index

    search_index.ensure(connections[using])
    closed_count.ensure(connections[using])
