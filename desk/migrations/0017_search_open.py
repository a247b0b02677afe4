"""SQLite: the open tickets' search index beside the full one (desk.search_index): an FTS5
table of the open tickets' documents, its triggers, and the documents of the tickets
open now, copied from the full index. PostgreSQL gets nothing: its planner already
starts an open list's search from the open tickets."""

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
