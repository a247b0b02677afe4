"""How many tickets are closed, kept by the database's own triggers (migration
`desk/0016`), so the inbox's side bar reads a handful of rows instead of counting an
index as long as the whole history (85 % of tickets are closed, and they only grow).

The count is the sum of the rows of `desk_closed_count` (`models.ClosedCount`): a
ticket that becomes closed (inserted closed, or its status changed to closed) adds one,
a closed ticket that is reopened or deleted takes one away. The triggers fire on every
write however it is made (a save, a queryset `.update()`, a `bulk_create`, raw SQL, any
server process), so the sum is exact at every commit; nothing in Python keeps it.

On PostgreSQL each transaction writes to the row of its own connection
(`pg_backend_pid() % SHARDS`), so concurrent closes on different connections do not wait
on one row, and a transaction that closes many tickets locks one row only (never two in
an order another could reverse). One row may go below zero (a ticket closed on one
connection and reopened on another): only the sum means anything. SQLite has one writer
at a time: one row.

Django rebuilding `desk_ticket` for a migration drops its triggers on SQLite; `ensure`
(after every `migrate`, see desk.apps) puts them back and counts afresh.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "desk_closed_count"
SHARDS = 32
CLOSED = "closed"

# --- PostgreSQL -----------------------------------------------------------------------------

POSTGRESQL_INSTALL = [
    f"""CREATE FUNCTION desk_closed_count_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        delta integer := 0;
    BEGIN
        IF TG_OP <> 'INSERT' AND OLD.status = '{CLOSED}' THEN
            delta := delta - 1;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.status = '{CLOSED}' THEN
            delta := delta + 1;
        END IF;
        IF delta <> 0 THEN
            INSERT INTO {TABLE} (shard, tickets) VALUES (pg_backend_pid() % {SHARDS}, delta)
            ON CONFLICT (shard) DO UPDATE SET tickets = {TABLE}.tickets + EXCLUDED.tickets;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION desk_closed_count_on_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM {TABLE};
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER desk_closed_count_insert AFTER INSERT ON desk_ticket
    FOR EACH ROW WHEN (NEW.status = '{CLOSED}')
    EXECUTE FUNCTION desk_closed_count_change()""",
    f"""CREATE TRIGGER desk_closed_count_update AFTER UPDATE OF status ON desk_ticket
    FOR EACH ROW WHEN ((OLD.status = '{CLOSED}') <> (NEW.status = '{CLOSED}'))
    EXECUTE FUNCTION desk_closed_count_change()""",
    f"""CREATE TRIGGER desk_closed_count_delete AFTER DELETE ON desk_ticket
    FOR EACH ROW WHEN (OLD.status = '{CLOSED}')
    EXECUTE FUNCTION desk_closed_count_change()""",
    """CREATE TRIGGER desk_closed_count_truncate AFTER TRUNCATE ON desk_ticket
    FOR EACH STATEMENT EXECUTE FUNCTION desk_closed_count_on_truncate()""",
]

POSTGRESQL_UNINSTALL = [
    "DROP TRIGGER IF EXISTS desk_closed_count_truncate ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_closed_count_delete ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_closed_count_update ON desk_ticket",
    "DROP TRIGGER IF EXISTS desk_closed_count_insert ON desk_ticket",
    "DROP FUNCTION IF EXISTS desk_closed_count_on_truncate()",
    "DROP FUNCTION IF EXISTS desk_closed_count_change()",
]

# --- SQLite ---------------------------------------------------------------------------------

# A decrement is a plain UPDATE of the one row: a closed ticket being reopened or deleted
# was counted there, so the row exists, unless the table was emptied beside it (a test
# database flushed table by table), when there is nothing left to take from.
_SQLITE_ADD = (
    f"INSERT INTO {TABLE} (shard, tickets) VALUES (0, 1) "
    "ON CONFLICT (shard) DO UPDATE SET tickets = tickets + 1;"
)
_SQLITE_TAKE = f"UPDATE {TABLE} SET tickets = tickets - 1 WHERE shard = 0;"

SQLITE_TRIGGERS = {
    "desk_closed_count_insert": f"""AFTER INSERT ON desk_ticket
    WHEN NEW.status = '{CLOSED}' BEGIN {_SQLITE_ADD} END""",
    "desk_closed_count_close": f"""AFTER UPDATE OF status ON desk_ticket
    WHEN NEW.status = '{CLOSED}' AND OLD.status <> '{CLOSED}' BEGIN {_SQLITE_ADD} END""",
    "desk_closed_count_reopen": f"""AFTER UPDATE OF status ON desk_ticket
    WHEN OLD.status = '{CLOSED}' AND NEW.status <> '{CLOSED}' BEGIN {_SQLITE_TAKE} END""",
    "desk_closed_count_delete": f"""AFTER DELETE ON desk_ticket
    WHEN OLD.status = '{CLOSED}' BEGIN {_SQLITE_TAKE} END""",
}

# The count afresh from the tickets (SHARE MODE on PostgreSQL: writers wait for it, so
# no close falls between the count and the triggers taking over).
RECOUNT = [
    f"DELETE FROM {TABLE}",
    f"INSERT INTO {TABLE} (shard, tickets) SELECT 0, count(*) FROM desk_ticket "
    f"WHERE status = '{CLOSED}'",
]


def _execute(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the triggers and count the closed tickets there are."""
    if connection.vendor == "postgresql":
        _execute(connection, ["LOCK TABLE desk_ticket IN SHARE MODE", *POSTGRESQL_INSTALL])
    elif connection.vendor == "sqlite":
        _execute(
            connection, [f"CREATE TRIGGER {name} {sql}" for name, sql in SQLITE_TRIGGERS.items()]
        )
    else:
        return
    _execute(connection, RECOUNT)


def recount(connection: BaseDatabaseWrapper) -> int:
    """Count the closed tickets afresh (after restoring data without the triggers, say);
    inside a transaction. Answers the count."""
    if connection.vendor not in VENDORS:
        return 0
    if connection.vendor == "postgresql":
        _execute(connection, ["LOCK TABLE desk_ticket IN SHARE MODE"])
    _execute(connection, RECOUNT)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {closed_sql(connection.vendor)}")
        return int(cursor.fetchone()[0])


def uninstall(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        _execute(connection, POSTGRESQL_UNINSTALL)
    elif connection.vendor == "sqlite":
        _execute(connection, [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS])


def ensure(connection: BaseDatabaseWrapper) -> list[str]:
    """SQLite: put back any trigger a table rebuild dropped, and count afresh (rows may
    have changed while it was missing). Answers the names it created."""
    if connection.vendor != "sqlite" or TABLE not in connection.introspection.table_names():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        have = {row[0] for row in cursor.fetchall()}
    missing = [name for name in SQLITE_TRIGGERS if name not in have]
    if missing:
        _execute(connection, [f"CREATE TRIGGER {name} {SQLITE_TRIGGERS[name]}" for name in missing])
        _execute(connection, RECOUNT)
    return missing


VENDORS = ("postgresql", "sqlite")  # the databases with the triggers


def closed_sql(vendor: str) -> str:
    """SQL for the number of closed tickets (a scalar subquery): the rows' sum, or on
    a database without the triggers a count of the tickets."""
    if vendor in VENDORS:
        return f"(SELECT coalesce(sum(tickets), 0) FROM {TABLE})"
    return f"(SELECT count(*) FROM desk_ticket WHERE status = '{CLOSED}')"
