"""The inbox search's index: one search document per ticket, kept by the database itself.

A ticket's document holds its title, the customer's name and email, its custom fields'
names and values, and the text of every transcript line. Triggers keep it: a new
ticket adds its document, a new line appends to it, a change to those fields (or a line
edited or deleted) writes it afresh. The query side is `desk.selectors.search_q`.

- PostgreSQL: a table `desk_ticket_search (ticket_id, document tsvector, open)` with a
  GIN index on the document (its full-text search, configuration 'simple': no stemming,
  no stop words, every language alike). New lines are appended by a statement-level
  trigger, once per INSERT however many rows (a startHitl's history, bulk_create).
  `open` says the ticket is not closed (a trigger on its status keeps it), and a partial
  GIN index holds the open tickets' documents only: the open lists' searches read it
  (desk 0017).
- SQLite: an FTS5 table `desk_ticket_search(fields, lines)` whose rowid is the ticket's
  id (tokenizer unicode61, accents folded): a search matches across both columns. Its
  triggers never read another table than their own (see below), so a migration may
  rebuild the ticket or message table. A second FTS5 table of the same form,
  `desk_ticket_search_open`, holds the documents of the open tickets only (desk 0017),
  kept by triggers of its own: a ticket that closes leaves it, one that reopens is
  copied back from the full index.

Why the open tickets have an index of their own: the open lists' searches read it, so
what they cost follows the open tickets, not the history. Both databases gather every
match of a prefix ("questi*", the "com" that ends an email) over the whole index they
read before anything else narrows the search (FTS5: a rowid range, a LIMIT; GIN: the
rare word beside it): at a million tickets 100 ms (FTS5) and 40 ms (GIN) for a word
they all have, however few of them are open.

Both read words the same way: runs of letters and digits (`@ . / : _ - + #` separate
them, so an email, a URL or "Invoice-7731" are several words), matched by prefix.

The migration that creates all this (desk 0013) calls `install`; desk 0017 adds the open
tickets' index to a database made before it (`install_open`). SQLite drops a table's
triggers when Django rebuilds the table (a later migration that alters it): `ensure`,
run after every `migrate`, puts back any that are missing; `rebuild` rewrites every
document from the tables (`manage.py rebuild_search`).
"""

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "desk_ticket_search"
VENDORS = ("postgresql", "sqlite")  # the databases with a search index

# Characters that separate words beyond what each database's own tokenizer splits on.
SEPARATORS = "@./:_-+#"
_SPACES = " " * len(SEPARATORS)


# --- PostgreSQL ---------------------------------------------------------------------------

_PG_WORDS = f"translate(%s, '{SEPARATORS}', '{_SPACES}')"


def _pg_document(text_sql: str) -> str:
    return f"strip(to_tsvector('simple', {_PG_WORDS % text_sql}))"


_PG_FIELDS_TEXT = (
    "concat_ws(' ', t.title, t.user_name, t.user_email, "
    "(SELECT string_agg(f.key || ' ' || CASE jsonb_typeof(f.value) "
    "WHEN 'string' THEN f.value #>> '{}' ELSE f.value::text END, ' ') "
    "FROM jsonb_each(t.custom_fields) AS f))"
)
# Every line's text of ticket t, in order.
_PG_LINES_TEXT = (
    "coalesce((SELECT string_agg(m.text, ' ' ORDER BY m.id) FROM desk_message m "
    "WHERE m.ticket_id = t.id), '')"
)

CLOSED = "closed"

# A ticket's document written (a new ticket, a changed field), with whether it is open.
_PG_ON_TICKET = f"""CREATE OR REPLACE FUNCTION desk_ticket_search_on_ticket() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM {TABLE} WHERE ticket_id = OLD.id;
        ELSE
            INSERT INTO {TABLE} (ticket_id, document, open)
            VALUES (NEW.id, coalesce(desk_ticket_search_document(NEW.id), ''),
                    NEW.status <> '{CLOSED}')
            ON CONFLICT (ticket_id) DO UPDATE SET document = excluded.document,
                open = excluded.open;
        END IF;
        RETURN NULL;
    END $$"""

# The open tickets' documents carry `open`, and a partial GIN index holds only them: an
# open list's search reads that index, not the whole history (a prefix, "com":* of an
# email, gathers every match in the index it reads: 40 ms in the full one at a million
# tickets). A ticket closing or reopening changes the flag.
POSTGRESQL_OPEN = [
    f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS open boolean NOT NULL DEFAULT false",
    f"""CREATE INDEX IF NOT EXISTS {TABLE}_open_document ON {TABLE} USING gin (document)
    WHERE open""",
    _PG_ON_TICKET,
    f"""CREATE OR REPLACE FUNCTION desk_ticket_search_on_status() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {TABLE} SET open = NEW.status <> '{CLOSED}' WHERE ticket_id = NEW.id;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS desk_ticket_search_status ON desk_ticket",
    f"""CREATE TRIGGER desk_ticket_search_status AFTER UPDATE OF status ON desk_ticket
    FOR EACH ROW WHEN ((OLD.status = '{CLOSED}') <> (NEW.status = '{CLOSED}'))
    EXECUTE FUNCTION desk_ticket_search_on_status()""",
    f"""UPDATE {TABLE} s SET open = NOT t.status = '{CLOSED}' FROM desk_ticket t
    WHERE t.id = s.ticket_id AND s.open <> (NOT t.status = '{CLOSED}')""",
]

POSTGRESQL_INSTALL = [
    f"""CREATE TABLE {TABLE} (
        ticket_id bigint PRIMARY KEY,
        document tsvector NOT NULL,
        open boolean NOT NULL DEFAULT false
    )""",
    f"CREATE INDEX {TABLE}_document ON {TABLE} USING gin (document)",
    # A ticket's document from scratch (its fields and every line), or a safe empty one
    # when it would exceed what a tsvector holds (1 MB of distinct words).
    f"""CREATE FUNCTION desk_ticket_search_document(ticket_id bigint) RETURNS tsvector
    LANGUAGE plpgsql STABLE AS $$
    BEGIN
        RETURN (SELECT {_pg_document(_PG_FIELDS_TEXT + " || ' ' || " + _PG_LINES_TEXT)}
                FROM desk_ticket t WHERE t.id = ticket_id);
    EXCEPTION WHEN program_limit_exceeded THEN
        RETURN (SELECT {_pg_document(_PG_FIELDS_TEXT)} FROM desk_ticket t WHERE t.id = ticket_id);
    END $$""",
    _PG_ON_TICKET,
    f"""CREATE FUNCTION desk_ticket_search_on_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE {TABLE};
        RETURN NULL;
    END $$""",
    # New lines, once per statement: each ticket's new text appended to its document.
    f"""CREATE FUNCTION desk_ticket_search_on_new_lines() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        BEGIN
            UPDATE {TABLE} s SET document = s.document || added.document
            FROM (
                SELECT n.ticket_id,
                       {_pg_document("string_agg(n.text, ' ' ORDER BY n.id)")} AS document
                FROM new_lines n GROUP BY n.ticket_id
            ) added
            WHERE s.ticket_id = added.ticket_id;
        EXCEPTION WHEN program_limit_exceeded THEN
            -- A document past a tsvector's 1 MB: the ticket keeps the one it had.
            NULL;
        END;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION desk_ticket_search_on_line() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {TABLE} SET document = coalesce(desk_ticket_search_document(OLD.ticket_id), '')
        WHERE ticket_id = OLD.ticket_id;
        IF TG_OP = 'UPDATE' AND NEW.ticket_id <> OLD.ticket_id THEN
            UPDATE {TABLE} SET document = coalesce(desk_ticket_search_document(NEW.ticket_id), '')
            WHERE ticket_id = NEW.ticket_id;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER desk_ticket_search_insert AFTER INSERT ON desk_ticket
    FOR EACH ROW EXECUTE FUNCTION desk_ticket_search_on_ticket()""",
    """CREATE TRIGGER desk_ticket_search_update
    AFTER UPDATE OF title, user_name, user_email, custom_fields ON desk_ticket
    FOR EACH ROW WHEN (
        OLD.title IS DISTINCT FROM NEW.title OR OLD.user_name IS DISTINCT FROM NEW.user_name
        OR OLD.user_email IS DISTINCT FROM NEW.user_email
        OR OLD.custom_fields IS DISTINCT FROM NEW.custom_fields
    ) EXECUTE FUNCTION desk_ticket_search_on_ticket()""",
    """CREATE TRIGGER desk_ticket_search_delete AFTER DELETE ON desk_ticket
    FOR EACH ROW EXECUTE FUNCTION desk_ticket_search_on_ticket()""",
    """CREATE TRIGGER desk_ticket_search_truncate AFTER TRUNCATE ON desk_ticket
    FOR EACH STATEMENT EXECUTE FUNCTION desk_ticket_search_on_truncate()""",
    """CREATE TRIGGER desk_message_search_insert AFTER INSERT ON desk_message
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION desk_ticket_search_on_new_lines()""",
    """CREATE TRIGGER desk_message_search_update AFTER UPDATE OF text, ticket_id ON desk_message
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.ticket_id <> NEW.ticket_id)
    EXECUTE FUNCTION desk_ticket_search_on_line()""",
    """CREATE TRIGGER desk_message_search_delete AFTER DELETE ON desk_message
    FOR EACH ROW EXECUTE FUNCTION desk_ticket_search_on_line()""",
]

# Back before desk 0017: the open tickets' index and flag go; the flag's column stays
# (the function that writes a document writes it).
POSTGRESQL_UNINSTALL_OPEN = [
    "DROP TRIGGER IF EXISTS desk_ticket_search_status ON desk_ticket",
    "DROP FUNCTION IF EXISTS desk_ticket_search_on_status()",
    f"DROP INDEX IF EXISTS {TABLE}_open_document",
]

POSTGRESQL_UNINSTALL = [
    *POSTGRESQL_UNINSTALL_OPEN,
    "DROP TRIGGER IF EXISTS desk_message_search_delete ON desk_message",
    "DROP TRIGGER IF EXISTS desk_message_search_update ON desk_message",
    "DROP TRIGGER IF EXISTS desk_message_search_insert ON desk_message",
    "DROP TRIGGER IF EXISTS desk_ticket_search_truncate ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_ticket_search_delete ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_ticket_search_update ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_ticket_search_insert ON desk_ticket",
    "DROP FUNCTION IF EXISTS desk_ticket_search_on_line()",
    "DROP FUNCTION IF EXISTS desk_ticket_search_on_new_lines()",
    "DROP FUNCTION IF EXISTS desk_ticket_search_on_truncate()",
    "DROP FUNCTION IF EXISTS desk_ticket_search_on_ticket()",
    "DROP FUNCTION IF EXISTS desk_ticket_search_document(bigint)",
    f"DROP TABLE IF EXISTS {TABLE}",
]

POSTGRESQL_REBUILD = [
    f"TRUNCATE {TABLE}",
    f"""INSERT INTO {TABLE} (ticket_id, document, open)
    SELECT t.id, coalesce(desk_ticket_search_document(t.id), ''), NOT t.status = '{CLOSED}'
    FROM desk_ticket t""",
]


# --- SQLite ---------------------------------------------------------------------------------

# Each trigger reads only its own table and the index: when Django rebuilds a table for a
# migration (a new table, the rows copied, the old one dropped, the new one renamed),
# SQLite checks every trigger that names the table and refuses the rename while one on
# another table does. So a ticket's document is two columns, its fields (written from
# the ticket's row) and its lines (from the message table).


def _sqlite_fields(row: str) -> str:
    """The text of a ticket row's fields (custom fields as "name value" pairs)."""
    return (
        f"{row}.title || ' ' || {row}.user_name || ' ' || {row}.user_email || ' ' || coalesce(("
        "SELECT group_concat(f.key || ' ' || CASE f.type WHEN 'true' THEN 'true' "
        "WHEN 'false' THEN 'false' ELSE f.value END, ' ') "
        f"FROM json_each(CASE WHEN json_valid({row}.custom_fields) THEN {row}.custom_fields "
        "END) AS f), '')"
    )


def _sqlite_lines(ticket_id_sql: str) -> str:
    """Every line's text of a ticket, in order."""
    return (
        "coalesce((SELECT group_concat(m.text, ' ') FROM (SELECT text FROM desk_message "
        f"WHERE ticket_id = {ticket_id_sql} ORDER BY id) AS m), '')"
    )


def _sqlite_rewrite_lines(ticket_id_sql: str) -> str:
    return (
        f"UPDATE {TABLE} SET lines = {_sqlite_lines(ticket_id_sql)} "
        f"WHERE rowid = {ticket_id_sql};"
    )


# unicode61 reads only letters and digits as parts of words: SEPARATORS already separate.
SQLITE_TABLE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
    "fields, lines, tokenize = 'unicode61 remove_diacritics 2')"
)

SQLITE_TRIGGERS = {
    "desk_ticket_search_insert": f"""AFTER INSERT ON desk_ticket BEGIN
        INSERT INTO {TABLE} (rowid, fields, lines) VALUES (NEW.id, {_sqlite_fields("NEW")}, '');
    END""",
    "desk_ticket_search_update": f"""AFTER UPDATE OF title, user_name, user_email, custom_fields
        ON desk_ticket WHEN OLD.title IS NOT NEW.title OR OLD.user_name IS NOT NEW.user_name
        OR OLD.user_email IS NOT NEW.user_email OR OLD.custom_fields IS NOT NEW.custom_fields
    BEGIN
        UPDATE {TABLE} SET fields = {_sqlite_fields("NEW")} WHERE rowid = NEW.id;
    END""",
    "desk_ticket_search_delete": f"""AFTER DELETE ON desk_ticket BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.id;
    END""",
    "desk_message_search_insert": f"""AFTER INSERT ON desk_message BEGIN
        UPDATE {TABLE} SET lines = lines || ' ' || NEW.text WHERE rowid = NEW.ticket_id;
    END""",
    "desk_message_search_update": f"""AFTER UPDATE OF text, ticket_id ON desk_message
        WHEN OLD.text IS NOT NEW.text OR OLD.ticket_id IS NOT NEW.ticket_id
    BEGIN {_sqlite_rewrite_lines("OLD.ticket_id")} {_sqlite_rewrite_lines("NEW.ticket_id")} END""",
    "desk_message_search_delete": f"""AFTER DELETE ON desk_message BEGIN
        {_sqlite_rewrite_lines("OLD.ticket_id")}
    END""",
}

# The open tickets' index: the same documents, for the tickets whose status is not
# closed. Its triggers are apart from the full index's (none depends on the order SQLite
# fires them in): a ticket's fields come from its row, a reopened ticket's lines from the
# full index (a status change writes no line), the lines from the message table.
OPEN_TABLE = "desk_ticket_search_open"

SQLITE_OPEN_TABLE = SQLITE_TABLE.replace(f"EXISTS {TABLE} ", f"EXISTS {OPEN_TABLE} ")


def _sqlite_rewrite_open_lines(ticket_id_sql: str) -> str:
    return (
        f"UPDATE {OPEN_TABLE} SET lines = {_sqlite_lines(ticket_id_sql)} "
        f"WHERE rowid = {ticket_id_sql};"
    )


SQLITE_OPEN_TRIGGERS = {
    "desk_ticket_search_open_insert": f"""AFTER INSERT ON desk_ticket
        WHEN NEW.status <> '{CLOSED}'
    BEGIN
        INSERT OR REPLACE INTO {OPEN_TABLE} (rowid, fields, lines)
        VALUES (NEW.id, {_sqlite_fields("NEW")}, '');
    END""",
    "desk_ticket_search_open_update": f"""AFTER UPDATE OF title, user_name, user_email,
        custom_fields ON desk_ticket WHEN NEW.status <> '{CLOSED}' AND (
        OLD.title IS NOT NEW.title OR OLD.user_name IS NOT NEW.user_name
        OR OLD.user_email IS NOT NEW.user_email OR OLD.custom_fields IS NOT NEW.custom_fields)
    BEGIN
        UPDATE {OPEN_TABLE} SET fields = {_sqlite_fields("NEW")} WHERE rowid = NEW.id;
    END""",
    "desk_ticket_search_open_status": f"""AFTER UPDATE OF status ON desk_ticket
        WHEN (OLD.status = '{CLOSED}') IS NOT (NEW.status = '{CLOSED}')
    BEGIN
        DELETE FROM {OPEN_TABLE} WHERE rowid = NEW.id AND NEW.status = '{CLOSED}';
        INSERT OR REPLACE INTO {OPEN_TABLE} (rowid, fields, lines)
        SELECT NEW.id, {_sqlite_fields("NEW")},
               coalesce((SELECT lines FROM {TABLE} WHERE rowid = NEW.id), '')
        WHERE NEW.status <> '{CLOSED}';
    END""",
    "desk_ticket_search_open_delete": f"""AFTER DELETE ON desk_ticket
        WHEN OLD.status <> '{CLOSED}'
    BEGIN
        DELETE FROM {OPEN_TABLE} WHERE rowid = OLD.id;
    END""",
    "desk_message_search_open_insert": f"""AFTER INSERT ON desk_message BEGIN
        UPDATE {OPEN_TABLE} SET lines = lines || ' ' || NEW.text WHERE rowid = NEW.ticket_id;
    END""",
    "desk_message_search_open_update": f"""AFTER UPDATE OF text, ticket_id ON desk_message
        WHEN OLD.text IS NOT NEW.text OR OLD.ticket_id IS NOT NEW.ticket_id
    BEGIN
        {_sqlite_rewrite_open_lines("OLD.ticket_id")} {_sqlite_rewrite_open_lines("NEW.ticket_id")}
    END""",
    "desk_message_search_open_delete": f"""AFTER DELETE ON desk_message BEGIN
        {_sqlite_rewrite_open_lines("OLD.ticket_id")}
    END""",
}

# The open tickets' documents copied from the full index (driven by the open tickets:
# one rowid lookup in the full index each).
SQLITE_OPEN_REBUILD = [
    f"DELETE FROM {OPEN_TABLE}",
    f"""INSERT INTO {OPEN_TABLE} (rowid, fields, lines)
    SELECT t.id, s.fields, s.lines FROM desk_ticket t JOIN {TABLE} s ON s.rowid = t.id
    WHERE NOT t.status = '{CLOSED}'""",
]

SQLITE_REBUILD = [
    f"DELETE FROM {TABLE}",
    f"""INSERT INTO {TABLE} (rowid, fields, lines)
    SELECT t.id, {_sqlite_fields("t")}, {_sqlite_lines("t.id")} FROM desk_ticket t""",
    *SQLITE_OPEN_REBUILD,
]


# --- what the migration, `migrate` and the rebuild command run --------------------------------


def _execute(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the index, its triggers, and the documents of the tickets there are."""
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_INSTALL + POSTGRESQL_OPEN + POSTGRESQL_REBUILD[1:])
    elif connection.vendor == "sqlite":
        _execute(connection, [SQLITE_TABLE, SQLITE_OPEN_TABLE])
        ensure(connection)
        _execute(connection, SQLITE_REBUILD)


def install_open(connection: BaseDatabaseWrapper) -> None:
    """The open tickets' index beside a full index made before it (desk 0017), with the
    documents of the tickets open now: SQLite, its table and triggers; PostgreSQL, the
    flag, its trigger and the partial index."""
    if not installed(connection):
        return
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_OPEN)
    elif connection.vendor == "sqlite":
        _execute(connection, [SQLITE_OPEN_TABLE])
        ensure(connection)
        _execute(connection, SQLITE_OPEN_REBUILD)


def uninstall_open(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_UNINSTALL_OPEN)
    elif connection.vendor == "sqlite":
        _execute(connection, [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_OPEN_TRIGGERS])
        _execute(connection, [f"DROP TABLE IF EXISTS {OPEN_TABLE}"])


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_UNINSTALL)
    elif connection.vendor == "sqlite":
        uninstall_open(connection)
        _execute(connection, [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS])
        _execute(connection, [f"DROP TABLE IF EXISTS {TABLE}"])


def ensure(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite: create any of the triggers that is missing (Django rebuilding a table for a
    migration drops its triggers). Answers the names it created. The open tickets' index
    is then copied afresh from the full one: a ticket closed or reopened while its
    triggers were gone would be in it or missing wrongly. PostgreSQL keeps them."""
    if connection.vendor != "sqlite" or not installed(connection):
        return []
    tables = connection.introspection.table_names()
    triggers = dict(SQLITE_TRIGGERS)
    if OPEN_TABLE in tables:
        triggers |= SQLITE_OPEN_TRIGGERS
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        have = {row[0] for row in cursor.fetchall()}
        missing = [name for name in triggers if name not in have]
        for name in missing:
            cursor.execute(f"CREATE TRIGGER IF NOT EXISTS {name} {triggers[name]}")
    if set(missing) & set(SQLITE_OPEN_TRIGGERS):
        _execute(connection, SQLITE_OPEN_REBUILD)
    return missing


def installed(connection: BaseDatabaseWrapper) -> bool:
    return TABLE in connection.introspection.table_names()


def rebuild(connection: BaseDatabaseWrapper) -> None:
    """Every ticket's document written afresh from the tables."""
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_REBUILD)
    elif connection.vendor == "sqlite":
        _execute(connection, [SQLITE_OPEN_TABLE])
        ensure(connection)
        _execute(connection, SQLITE_REBUILD)
