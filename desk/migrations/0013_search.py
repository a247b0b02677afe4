"""The inbox search's index (desk.search_index): on PostgreSQL a table of tsvector
documents with a GIN index, on SQLite an FTS5 table; triggers keep either, and the
tickets already there get their documents. Another database gets nothing (the search
then finds nothing: see desk.selectors.search_q)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from desk import search_index

    search_index.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from desk import search_index

    search_index.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0012_waiting"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
