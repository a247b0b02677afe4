"""The open tickets' search index beside the full one (desk.search_index), with the
documents of the tickets open now: on SQLite a second FTS5 table and its triggers, on
PostgreSQL an `open` flag on each document, the trigger that keeps it, and a partial
GIN index of the open documents."""

from django.db import migrations


def forwards(apps, schema_editor):
    from desk import search_index

    search_index.install_open(schema_editor.connection)


def backwards(apps, schema_editor):
    from desk import search_index

    search_index.uninstall_open(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0016_closed_count"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
