"""Bulk writes for imports: PostgreSQL binary ``COPY`` (psycopg 3) sent by a worker thread, executemany elsewhere.

Model instances are skipped on purpose: building 500,000 of them costs more than inserting the rows. Callers
give the columns and tuples; ids are reserved up front (:func:`reserve_ids`) so rows can reference each other.

:class:`BulkWriter` takes rows of several tables, in any order (a trigger may come before its sample: foreign
keys are checked when the writer closes, see below), and sends them in batches.

**Threads.** On PostgreSQL a worker thread sends the batches through the transaction's own connection (psycopg
connections are thread-safe; Django's wrapper is used by the calling thread only). The server stores one batch
while the calling thread parses the next, so both cores work; at most two batches wait, so memory stays
bounded. Each ``COPY`` is complete before it starts (a whole batch of one table), so the connection is never
left in the middle of one, and a failure on either side ends cleanly in a rollback. With SQLite, batches are
inserted by the calling thread (``executemany``).

**Streaming.** While most rows go to one table (an EIBench ground truth: 500,000 triggers and nothing else),
``streaming(model)`` writes that table's rows straight into one ``COPY`` held open by the calling thread, a
thousand at a time: the server stores them as they arrive, on the other core, and the calling thread only waits
when the server falls behind (the socket is full). No batches, no worker thread, no ``COPY`` to finish and start
again every 20,000 rows, no hand-over of the GIL between two threads: with the worker, the server was left idle
about half of the time, waiting for one thread or the other. Rows of other tables meanwhile, or a statement of
the caller's own (``exclusive()``), end that ``COPY`` first (a new one is opened for the next rows).

**Foreign keys.** PostgreSQL checks a foreign key with one query per inserted row (an ``SPI`` call: start an
executor, look the key up, lock the row ``FOR KEY SHARE``, stop the executor). For an import that is most of the
server's work: measured here, two thirds of it for 100,000 samples with 500,000 triggers. So, when the
connection may do it (a superuser, or ``GRANT SET ON PARAMETER session_replication_role``, PostgreSQL 15+) and
no trigger or rule of the application's own is on these tables, the writer's ``COPY`` statements run with
``session_replication_role = replica`` (which skips triggers, and so the per-row checks, for those statements
only) and :class:`_ForeignKeys` then checks every foreign key of every row sent, in the same transaction, with
one scan of the rows per constraint: the rows they reference that were there before the import are locked
``FOR KEY SHARE``, exactly as the per-row checks lock them (nobody can delete them before this transaction
ends), and a reference to a row that does not exist raises ``IntegrityError`` naming the constraint and the
key, as PostgreSQL would.

Otherwise PostgreSQL's own per-row checks run, deferred as Django declares them, when the writer closes
(``SET CONSTRAINTS ... IMMEDIATE``, then back to deferred), so that a bad reference is reported by the writer,
as with the set-based checks, not by the ``COMMIT`` after it.
"""
from __future__ import annotations

import queue
import threading
from array import array
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager, suppress

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

BATCH_ROWS = 20_000  # rows of all tables together per batch: a few COPY statements per 100,000 rows
STREAM_ROWS = 1_000  # rows of a streamed table written into its open COPY at a time
ANALYZE_SHARE = 0.1  # a write that adds this share of a table's rows (or more) refreshes its statistics (ANALYZE)
QUEUED_BATCHES = 2

# Binary COPY sends each value in the column type's wire format: no text to parse on the server, no escaping
# here. These are the psycopg type names for Django's column types (``field.db_type()``, without its size).
_PG_TYPES = {
    "bigint": "int8", "integer": "int4", "smallint": "int2", "boolean": "bool", "text": "text",
    "varchar": "text", "timestamp with time zone": "timestamptz", "jsonb": "jsonb", "double precision": "float8",
    "date": "date", "uuid": "uuid",
}


def _pg_types(model, columns: Sequence[str]) -> list[str]:
    fields = {f.column: f for f in model._meta.concrete_fields}
    types = []
    for column in columns:
        db_type = fields[column].rel_db_type(connection) if fields[column].is_relation else \
            fields[column].db_type(connection)
        types.append(_PG_TYPES[db_type.split("(", 1)[0].strip()])
    return types


def _copy_sql(model, columns: Sequence[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'COPY "{model._meta.db_table}" ({quoted}) FROM STDIN (FORMAT BINARY)'


def _insert_sql(model, columns: Sequence[str]) -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{model._meta.db_table}" ({quoted}) VALUES ({", ".join(["%s"] * len(columns))})'


def reserve_ids(model, count: int) -> Sequence[int]:
    """``count`` fresh primary keys for ``model``'s table (call inside the import's transaction).

    On PostgreSQL they come from the table's own sequence, so rows inserted meanwhile by others never collide;
    when nobody else took a value in between (the usual case) they are one range, and no list is fetched.
    """
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence's name in an uncorrelated subquery is looked up once, not once per id.
            sequence = "(SELECT pg_get_serial_sequence(%s, 'id'))::regclass"
            cursor.execute(f"SELECT min(v), max(v) FROM (SELECT nextval({sequence}) AS v "
                           "FROM generate_series(1, %s)) AS reserved", [table, count])
            low, high = cursor.fetchone()
            if high - low + 1 == count:
                return range(low, high + 1)
            # someone else drew values meanwhile: ours are not one range, so draw a fresh batch and list it
            cursor.execute(f"SELECT nextval({sequence}) FROM generate_series(1, %s)", [table, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
        return range(start, start + count)


class _IdRuns:
    """The ids of the rows a writer sent to one table, as runs of consecutive ids (one run when they were
    reserved together, in whatever order the rows were sent): PostgreSQL's ``int8multirange``, for the
    set-based foreign key checks.

    ``exact``: these are the ids of the rows sent, which this transaction inserted (they were drawn from the
    table's sequence by it, so no other session has rows with them). Otherwise (a table whose ids the server
    draws as it inserts) the runs are the sequence values drawn while the writer was open: every row sent, and
    possibly others' rows, or gaps."""

    def __init__(self, *, exact: bool):
        self.exact = exact
        self.ids = array("q")  # 8 bytes an id until the runs are needed
        self._runs: list[list[int]] | None = None

    def add(self, ids):
        self.ids.extend(ids)
        self._runs = None

    def add_range(self, low: int, high: int):
        """For a table whose ids the server draws: the sequence values drawn while the writer was open."""
        self._runs = [[low, high]] if low <= high else []

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def runs(self) -> list[list[int]]:
        if self._runs is None:
            runs: list[list[int]] = []
            for pk in sorted(self.ids):
                if runs and runs[-1][1] + 1 >= pk:
                    runs[-1][1] = max(runs[-1][1], pk)
                else:
                    runs.append([pk, pk])
            self._runs = runs
        return self._runs

    def __bool__(self):
        return bool(self.runs)

    def where(self, alias: str) -> tuple[str, list]:
        """A condition on ``alias.id`` for these rows, and its parameters (a range the primary key index can
        scan, and the runs)."""
        runs = self.runs
        return (f"{alias}.id BETWEEN %s AND %s AND %s::int8multirange @> {alias}.id",
                [runs[0][0], runs[-1][1], self.multirange()])

    def multirange(self) -> str:
        return "{" + ",".join(f"[{low},{high}]" for low, high in self.runs) + "}"


class _ForeignKeys:
    """Every foreign key of the rows a :class:`BulkWriter` sent, checked with a few statements per constraint
    (instead of one query per row), in the writer's transaction; see the module's docstring.

    For a constraint from table T to table R, the values the rows sent to T hold are of two kinds:

    * ids of rows the writer itself inserted into R (exact runs): those rows exist (checked once per table, by
      counting them) and need no lock, since no other transaction can see them, let alone delete them;
    * anything else (the project, images of an earlier import): one scan of the rows sent gives these values,
      distinct (100,000 samples of one project give one), then one statement locks their rows ``FOR KEY SHARE``
      (what the per-row check does, so that nobody deletes them before this transaction ends) and returns them:
      a value with no row is an ``IntegrityError`` naming the constraint and the key, as PostgreSQL words it.
    """

    def __init__(self, constraints: list[tuple[str, str, str, str, str]]):
        self.constraints = constraints  # (name, table, column, referenced table, referenced column)

    def check(self, ids: dict[str, _IdRuns]):
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            counted = set()
            for name, table, column, referenced, referenced_column in self.constraints:
                ours = ids.get(table)
                if not ours:
                    continue
                col, ref_col = quote(column), quote(referenced_column)
                sent, params = ours.where("t")
                values = f"SELECT DISTINCT t.{col} FROM {table} t WHERE {sent} AND t.{col} IS NOT NULL"
                known = ids.get(referenced)
                if known and known.exact and referenced_column == "id":
                    if referenced not in counted:
                        self._count(cursor, referenced, known)
                        counted.add(referenced)
                    values += f" AND NOT %s::int8multirange @> t.{col}"
                    params = [*params, known.multirange()]
                cursor.execute(values, params)
                wanted = {value for (value,) in cursor.fetchall()}
                if not wanted:
                    continue
                cursor.execute(f"SELECT r.{ref_col} FROM {referenced} r WHERE r.{ref_col} = ANY(%s) "
                               "FOR KEY SHARE OF r", [list(wanted)])
                missing = wanted - {value for (value,) in cursor.fetchall()}
                if missing:
                    raise IntegrityError(
                        f'insert or update on table "{table}" violates foreign key constraint "{name}"\n'
                        f'DETAIL:  Key ({column})=({min(missing)}) is not present in table "{referenced}".')

    @staticmethod
    def _count(cursor, table: str, known: _IdRuns):
        rows, params = known.where("r")
        cursor.execute(f"SELECT count(*) FROM {table} r WHERE {rows}", params)
        if cursor.fetchone()[0] != known.count:
            raise IntegrityError(f'rows written to "{table}" are missing from it')


def _constraints_of(cursor, models) -> list[tuple]:
    """The foreign keys of these models' tables: (name, table, column, referenced table, referenced column,
    deferred, number of columns)."""
    cursor.execute(
        "SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, "
        "fa.attname, c.condeferrable AND c.condeferred, cardinality(c.conkey) "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[]) ORDER BY c.conname",
        [[model._meta.db_table for model in models]])
    return cursor.fetchall()


def _set_based_possible(cursor, models, constraints) -> bool:
    """Single-column foreign keys, ``id`` primary keys, and a connection that may set
    ``session_replication_role`` with nothing of ours that it would switch off (a trigger that is not a
    constraint's, or a rule) on these tables?"""
    if not all(c[6] == 1 for c in constraints) or not all(model._meta.pk.column == "id" for model in models):
        return False
    if connection.pg_version < 150000:  # no has_parameter_privilege: superusers only
        privilege = "current_setting('is_superuser') = 'on'"
    else:
        privilege = "has_parameter_privilege('session_replication_role', 'SET')"
    tables = [model._meta.db_table for model in models]
    cursor.execute(
        f"SELECT {privilege} "
        "AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal) "
        "AND NOT EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = ANY(%s::regclass[]))", [tables, tables])
    return cursor.fetchone()[0]


def set_based_checks(models) -> bool:
    """Whether a :class:`BulkWriter` writing these models would check their foreign keys set-based (for
    reports: the benchmark says which way it measured)."""
    if connection.vendor != "postgresql" or not settings.EISTUDIO_SET_BASED_FK_CHECKS:
        return False
    with connection.cursor() as cursor:
        return _set_based_possible(cursor, models, _constraints_of(cursor, models))


class _Sender(threading.Thread):
    """Sends batches through the raw psycopg connection: one complete ``COPY`` per table of a batch.

    ``lock`` is held for each batch, so that no statement of the calling thread runs in between (with the
    per-row checks skipped). After a failure it sends nothing more but keeps taking batches (so the caller never
    blocks on a full queue); the caller sees ``error`` at its next batch or when it closes.
    """

    def __init__(self, raw_connection, lock: threading.Lock, *, replica: bool):
        super().__init__(name="bulk-writer", daemon=True)
        self.raw = raw_connection
        self.lock = lock
        self.replica = replica
        self.batches: queue.Queue = queue.Queue(maxsize=QUEUED_BATCHES)
        self.error: BaseException | None = None
        self.stopped = False  # the caller gave up: send nothing more

    def run(self):
        with self.raw.cursor() as cursor:
            while (batch := self.batches.get()) is not None:
                try:
                    if self.error is None and not self.stopped:
                        with self.lock:
                            self.copy(cursor, batch)
                except BaseException as exc:  # reported to the caller, which rolls the transaction back
                    self.error = exc
                finally:
                    self.batches.task_done()

    def copy(self, cursor, batch):
        if self.replica:  # undone with the transaction (or its savepoint) if a COPY fails
            cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, types, rows in batch:
            with cursor.copy(sql) as copy:  # an exception inside ends the COPY, with an error to the server
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
        if self.replica:
            cursor.execute("SET LOCAL session_replication_role = origin")


class BulkWriter:
    """Rows for several tables, written in bulk in batches through the one connection (see the module's
    docstring). Use as a context manager inside the import's transaction: declare each table (``table``), append
    rows to the list it returns, call ``maybe_send`` as you go, and leave the block (or ``close``) to write what
    is left, wait for it and check its foreign keys. Statements of your own
    while the writer is open go inside ``exclusive()``. Leaving the block with an exception sends nothing more
    and waits for the ``COPY`` in progress to end, so the transaction's rollback discards everything at once.
    ``counts`` says how many rows went to each model; ``set_based`` whether the foreign keys were checked per
    constraint (True) or per row (False; None before the first batch). ``set_based_checks=False`` forces the
    per-row checks; None (the default) follows ``settings.EISTUDIO_SET_BASED_FK_CHECKS``.
    """

    def __init__(self, batch_rows: int = BATCH_ROWS, *, set_based_checks: bool | None = None):
        self.batch_rows = batch_rows
        self.postgres = connection.vendor == "postgresql"
        self.allow_set_based = settings.EISTUDIO_SET_BASED_FK_CHECKS if set_based_checks is None else set_based_checks
        self.set_based: bool | None = None
        self.tables: dict = {}  # model -> (columns, rows waiting)
        self.counts: dict = {}
        self._waiting: list[list] = []
        self._sender: _Sender | None = None
        self._lock = threading.Lock()
        self._deferred: list[str] = []  # deferred constraints, checked when the writer closes (per-row checks)
        self._foreign_keys: _ForeignKeys | None = None
        self._ids: dict[str, _IdRuns] = {}  # table -> ids of the rows sent (set-based checks)
        self._sequences: dict[str, int] = {}  # table without an id column -> its sequence before the first row
        self._streamed = None  # the model whose rows go into the open COPY (see streaming)
        self._stream: tuple | None = None  # (ExitStack, write_row, id column index) of the COPY open now

    def table(self, model, columns: Sequence[str]) -> list[tuple]:
        """Declare ``model``'s columns (before the first batch); returns the list to append its rows to.

        A list rather than a function per row: appending is the cheapest thing Python can do per row, and an
        import adds hundreds of thousands.
        """
        if self._sender is not None:
            raise RuntimeError("declare every table before the first batch is sent")
        rows: list[tuple] = []
        self.tables[model] = (tuple(columns), rows)
        self.counts[model] = 0
        self._waiting.append(rows)
        return rows

    @property
    def pending(self) -> int:
        """Rows waiting to be sent."""
        return sum(map(len, self._waiting))

    def maybe_send(self):
        """Send the waiting rows as a batch if there are enough of them (call it after each few rows)."""
        if self._streamed is not None:
            streamed = self.tables[self._streamed][1]
            if len(streamed) >= STREAM_ROWS:
                self._write_stream(streamed)
        if sum(map(len, self._waiting)) >= self.batch_rows:
            self.send()

    @contextmanager
    def streaming(self, model):
        """Within this block, ``model``'s rows go into one ``COPY`` from the calling thread as they come (see the
        module's docstring); other tables' rows still go in batches. Nothing changes on other databases."""
        if not self.postgres:
            yield
            return
        if self._streamed is not None:
            raise RuntimeError("one table at a time is streamed")
        self._streamed = model
        try:
            yield
            self._write_stream(self.tables[model][1])
        except BaseException as exc:
            self._end_stream(exc)
            raise
        finally:
            self._streamed = None
        self._end_stream()

    def _write_stream(self, rows: list):
        """Write ``rows`` (the streamed table's waiting rows) into its open COPY, opening it if need be."""
        if not rows:
            return
        if self._stream is None:
            self._open_stream()
        _stack, write_row, id_at = self._stream
        with connection.wrap_database_errors:
            for row in rows:
                write_row(row)
        self.counts[self._streamed] += len(rows)
        if id_at is not None:
            self._ids[self._streamed._meta.db_table].add(row[id_at] for row in rows)
        rows.clear()

    def _open_stream(self):
        if self._sender is None:
            self._start()
        self.wait()  # the worker has nothing under way: the connection is ours
        model = self._streamed
        columns = self.tables[model][0]
        stack = ExitStack()
        try:
            stack.enter_context(self._lock)  # the worker (and exclusive()) wait until the COPY ends
            cursor = stack.enter_context(connection.connection.cursor())
            with connection.wrap_database_errors:
                if self.set_based:
                    cursor.execute("SET LOCAL session_replication_role = replica")

                    def back_to_origin(exc_type, _exc, _tb):  # once the COPY went well (else: rolled back)
                        if exc_type is None:
                            cursor.execute("SET LOCAL session_replication_role = origin")
                        return False

                    stack.push(back_to_origin)
                copy = stack.enter_context(cursor.copy(_copy_sql(model, columns)))
            copy.set_types(_pg_types(model, columns))
        except BaseException:
            stack.close()
            raise
        self._stream = (stack, copy.write_row,
                        columns.index("id") if self.set_based and "id" in columns else None)

    def _end_stream(self, exc: BaseException | None = None):
        """End the open COPY, if any: the server has stored every row written into it when this returns (or, with
        ``exc``, the COPY is abandoned and fails, which rolls the transaction back)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        stack = stream[0]
        if exc is None:
            with connection.wrap_database_errors:
                stack.close()
        else:
            with suppress(Exception):  # the caller's exception is the one that says why
                stack.__exit__(type(exc), exc, exc.__traceback__)

    def send(self):
        """Send the rows waiting now, as one batch (the worker thread writes it while the caller goes on)."""
        self._end_stream()
        batch = []
        for model, (columns, rows) in self.tables.items():
            if rows:
                self.counts[model] += len(rows)
                batch.append((model, columns, rows[:]))
                rows.clear()
        if not batch:
            return
        if not self.postgres:
            with connection.cursor() as cursor:
                for model, columns, rows in batch:
                    cursor.executemany(_insert_sql(model, columns), rows)
            return
        if self._sender is None:
            self._start()
        self._raise_sender_error()
        if self.set_based:
            for model, columns, rows in batch:
                if "id" in columns:
                    at = columns.index("id")
                    self._ids[model._meta.db_table].add(row[at] for row in rows)
        self._sender.batches.put([(_copy_sql(model, columns), _pg_types(model, columns), rows)
                                  for model, columns, rows in batch])

    @contextmanager
    def exclusive(self):
        """A block of the caller's own statements (drawing ids, reporting progress) while the writer is open:
        they wait for the batch being written (or end the open COPY), and run with every trigger and check as usual."""
        self._end_stream()
        with self._lock:
            yield

    def _start(self):
        """Choose how foreign keys are checked (module docstring), then start the worker thread."""
        with connection.cursor() as cursor:
            constraints = _constraints_of(cursor, list(self.tables))
            self.set_based = self.allow_set_based and _set_based_possible(cursor, list(self.tables), constraints)
            if self.set_based:
                self._foreign_keys = _ForeignKeys([c[:5] for c in constraints])
                for model, (columns, _rows) in self.tables.items():
                    table = model._meta.db_table
                    self._ids[table] = _IdRuns(exact="id" in columns)
                    if "id" not in columns:  # ids drawn by the server as it inserts: after this value
                        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
                        self._sequences[table] = cursor.fetchone()[0]
            else:
                self._deferred = [c[0] for c in constraints if c[5]]
        self._sender = _Sender(connection.connection, self._lock, replica=self.set_based)
        self._sender.start()

    def _constraints(self) -> str:
        return ", ".join(connection.ops.quote_name(name) for name in self._deferred)

    def _raise_sender_error(self):
        error = self._sender.error if self._sender else None
        if error is not None:
            _raise(error)

    def wait(self):
        """Wait until every batch sent so far is in the database (or has failed: then raise why)."""
        if self._sender is not None:
            self._sender.batches.join()
            self._raise_sender_error()

    def _stop(self, *, abandon: bool) -> BaseException | None:
        """Wait for the worker thread to end (everything sent; or, abandoning, only the COPY under way) and
        return what went wrong in it."""
        sender, self._sender = self._sender, None
        if sender is None:
            return None
        sender.stopped = abandon
        sender.batches.put(None)
        sender.join()
        return sender.error

    def close(self):
        """Write what is left, wait until it is in the database and check it; raises what went wrong."""
        try:
            self.send()  # (ends an open COPY first)
        except BaseException:
            self._stop(abandon=True)
            raise
        started = self._sender is not None
        error = self._stop(abandon=False)
        if error is not None:
            _raise(error)
        if not started:
            return
        # A bulk load leaves the planner's statistics of its tables behind (PostgreSQL's advice for "populating a
        # database": run ANALYZE afterwards); until autovacuum gets to them, the queries that follow an import (the
        # project page, the workspace, an export: a sort of 500,000 triggers) are planned as if the rows were not
        # there. Once the import is committed, then: after a rollback there is nothing new to measure.
        written = {model._meta.db_table: n for model, n in self.counts.items() if n}
        transaction.on_commit(lambda: analyze_grown(written), using=connection.alias)
        if self.set_based:
            with connection.cursor() as cursor:
                for table, before in self._sequences.items():
                    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
                    self._ids[table].add_range(before + 1, cursor.fetchone()[0] - 1)
            self._foreign_keys.check(self._ids)
        elif self._deferred:
            with connection.cursor() as cursor:  # the per-row checks run now; then deferred again, as declared
                cursor.execute(f"SET CONSTRAINTS {self._constraints()} IMMEDIATE")
                cursor.execute(f"SET CONSTRAINTS {self._constraints()} DEFERRED")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return
        for rows in self._waiting:
            rows.clear()
        self._end_stream(exc)
        error = self._stop(abandon=True)
        if error is not None and isinstance(exc, DatabaseError) and exc.__cause__ is not error:
            # The calling thread's statement failed because the worker's COPY had failed the transaction
            # ("current transaction is aborted"): the worker's error is the one that says why.
            _raise(error)


def analyze_grown(written: dict[str, int]) -> list[str]:
    """ANALYZE the tables to which ``written`` (table -> rows added) added at least ``ANALYZE_SHARE`` of the rows
    the planner knew of (autovacuum's own rule, without its wait); returns them. Two statements whatever the
    sizes (one when no table grew enough); nothing on other databases."""
    if connection.vendor != "postgresql" or not written:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE oid = ANY(%s::regclass[])", [list(written)])
        known = dict(cursor.fetchall())
        grown = [t for t, n in written.items() if n >= ANALYZE_SHARE * max(known.get(t, 0), 0)]
        if grown:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in grown))
    return grown


def _raise(error: BaseException):
    with connection.wrap_database_errors:  # psycopg's errors as Django's (IntegrityError, DataError, ...)
        raise error


def db_datetime(value):
    """A datetime as the database driver wants it in a raw row."""
    return connection.ops.adapt_datetimefield_value(value)
