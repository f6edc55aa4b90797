"""Fast bulk inserts for imports: PostgreSQL COPY (psycopg 3), plain executemany elsewhere.

Model instances are skipped on purpose: building 500,000 of them costs more than inserting the rows.
Callers give the columns and an iterable of tuples; ids are reserved up front so rows can reference each other.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice

from django.db import connection

CHUNK = 20_000


def reserve_ids(model, count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``'s table (call inside the import's transaction)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def insert_rows(model, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``model``'s table; returns how many."""
    table = model._meta.db_table
    quoted = ", ".join(f'"{c}"' for c in columns)
    total = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    total += 1
            return total
        sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join(["%s"] * len(columns))})'
        it = iter(rows)
        while chunk := list(islice(it, CHUNK)):
            cursor.executemany(sql, chunk)
            total += len(chunk)
    return total


def db_datetime(value):
    """A datetime as the database driver wants it in a raw row."""
    return connection.ops.adapt_datetimefield_value(value)
