"""Bulk writes through each driver's fast path, inside the caller's transaction.

Hundreds of thousands of rows (observations, marker scores) cost seconds when each row is
an ORM object or a dict that SQLAlchemy processes one by one. Here the rows stay plain tuples
built column-wise: on SQLite one prepared ``INSERT`` run with ``executemany``; on
PostgreSQL a ``COPY … FROM STDIN`` through psycopg. Both run on the session's own
connection, so the rows commit or roll back with everything else the transaction did.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from itertools import chain, islice
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import CheckConstraint, Connection, Engine, FromClause, Table
from sqlalchemy.orm import Session

CHUNK = 50_000
SQLITE_CACHE_KIB = 131_072  # 128 MiB, only while a bulk insert runs
CHECK_AFTER = 1_000  # from this many rows, SQLite CHECK constraints are verified after the insert
# connection.info flag set by keys_checked_by_value
KEYS_BY_VALUE = "inclusive_cities.bulk.keys_by_value"


def python_column(values: Any) -> list[Any]:
    """A column as plain Python values (int, float, str, bool) with ``None`` for missing.

    Drivers take Python numbers, not NumPy scalars; ``tolist()`` converts a whole column in C
    instead of testing every value."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        mask = pd.isna(values)
        if isinstance(values, pd.arrays.FloatingArray | pd.arrays.IntegerArray):
            out = values.to_numpy(dtype=object, na_value=None).tolist()
            return out
        plain = np.asarray(values, dtype=object)
        plain[np.asarray(mask)] = None
        return plain.tolist()
    array = np.asarray(values)
    if array.dtype.kind == "f":
        listed = array.tolist()
        if np.isnan(array).any():
            return [None if v != v else v for v in listed]
        return listed
    if array.dtype.kind == "O":
        missing = pd.isna(array)  # None, NaN and NA, tested in C
        if missing.any():
            array = array.copy()
            array[missing] = None
        return array.tolist()
    return array.tolist()


def bulk_insert(
    target: Session | Connection,
    table: FromClause,
    columns: Mapping[str, Sequence[Any]],
    chunk: int = CHUNK,
    rebuild_indexes: bool = False,
) -> int:
    """Insert the rows given column-wise (``{column: values}``, equal lengths: lists of Python
    values, or NumPy / pandas arrays converted a chunk at a time with :func:`python_column`)
    into ``table``; returns the number of rows written.

    ``rebuild_indexes`` (SQLite): when the rows outnumber those already in the table, its
    plain indexes are dropped before the insert and rebuilt after it, in the same transaction
    (one sort per index instead of a B-tree insert per row: ≈15 % less CPU for the medium
    demo's 432,000 observations). Unique constraints stay: they are checked as rows arrive."""
    connection = target.connection() if isinstance(target, Session) else target
    table = cast(Table, table)  # a model's __table__
    columns = {**columns, **_scalar_defaults(table, columns)}
    names = list(columns)
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"bulk_insert into {table.name}: columns of different lengths {lengths}")
    total = lengths.pop() if lengths else 0
    if total == 0:
        return 0
    # tuples are made one chunk at a time: the whole table of tuples would double the memory
    rows = _rows(columns, names, total, chunk)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, names, rows)
        return total
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    statement = "INSERT INTO {table} ({columns}) VALUES ({markers})".format(
        table=table.name, columns=", ".join(names), markers=", ".join([marker] * len(names))
    )
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # a bigger page cache while the indexes grow: ~20 % less CPU, half the wall
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    dropped = _drop_indexes(connection, table, total) if sqlite and rebuild_indexes else []
    checks = _checks(table) if sqlite and total >= CHECK_AFTER else {}
    if checks:  # checked once after the insert, in one statement (see _verify_checks)
        last = connection.exec_driver_sql(f"SELECT max(rowid) FROM {table.name}").scalar()
        connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    if sqlite and connection.info.get(KEYS_BY_VALUE):
        _verify_foreign_keys(connection, table, columns)
    per = _rows_per_statement(connection, len(names)) if sqlite else 1
    many = (
        statement.rsplit(" VALUES ", 1)[0]
        + " VALUES "
        + ", ".join(["({})".format(", ".join([marker] * len(names)))] * per)
    )
    width = len(names)
    try:
        if per == 1:
            while block := list(islice(rows, chunk)):
                connection.exec_driver_sql(statement, block)
        for size, flat in _flat_chunks(columns, names, total, chunk) if per > 1 else ():
            full = size // per * per * width  # values in whole multi-row statements
            step = per * width
            if full:
                connection.exec_driver_sql(
                    many, [tuple(flat[at : at + step]) for at in range(0, full, step)]
                )
            if full < len(flat):
                connection.exec_driver_sql(
                    statement,
                    [tuple(flat[at : at + width]) for at in range(full, len(flat), width)],
                )
        if checks:
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
            _verify_checks(connection, table, checks, int(last or 0))
    finally:
        if checks:
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
        for create in dropped:
            connection.exec_driver_sql(create)
        if sqlite:
            connection.exec_driver_sql(
                f"PRAGMA cache_size = {int(before if before is not None else -2000)}"
            )
    return total


ROWS_PER_STATEMENT = 1_000


def _rows_per_statement(connection: Connection, width: int) -> int:
    """SQLite: how many rows one ``INSERT … VALUES (…), (…), …`` carries. SQLite runs a
    statement per row of an ``executemany`` (and the driver hands the GIL back and forth
    for each); 1,000 rows a statement cost ≈ 25-35 % less CPU for the 267,685 scores of a
    medium demo marker run (benchmarks/README.md), within SQLite's limit on parameters."""
    import sqlite3

    raw = connection.connection.driver_connection
    getlimit = getattr(raw, "getlimit", None)  # Python 3.11+
    limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit is not None else 999
    return max(1, min(ROWS_PER_STATEMENT, limit // max(width, 1)))


def _rows(
    columns: Mapping[str, Sequence[Any]], names: list[str], total: int, chunk: int
) -> Iterator[tuple[Any, ...]]:
    """The rows as tuples. Columns given as lists are used as they are; arrays (NumPy,
    pandas) are turned into Python values one chunk at a time (:func:`python_column`), so a
    table of millions of rows never exists as Python objects all at once. (Rows are chained
    in C: a generator yielding each row cost 0.5 s CPU per 270,000 rows.)"""
    if all(isinstance(columns[name], list) for name in names):
        return zip(*(columns[name] for name in names), strict=True)

    def part(start: int) -> Iterator[tuple[Any, ...]]:
        stop = min(start + chunk, total)
        return zip(
            *(
                values[start:stop]
                if isinstance(values := columns[name], list)
                else python_column(values[start:stop])
                for name in names
            ),
            strict=True,
        )

    return chain.from_iterable(part(start) for start in range(0, total, chunk))


def _flat_chunks(
    columns: Mapping[str, Sequence[Any]], names: list[str], total: int, chunk: int
) -> Iterator[tuple[int, list[Any]]]:
    """Row-major Python values of ``chunk`` rows at a time (with the row count), filled one
    column at a time by slice assignment: no tuple per row."""
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        flat: list[Any] = [None] * ((stop - start) * len(names))
        for i, name in enumerate(names):
            values = columns[name]
            part = values[start:stop]
            flat[i :: len(names)] = part if isinstance(values, list) else python_column(part)
        yield stop - start, flat


def _checks(table: Table) -> dict[str, str]:
    """The table's CHECK constraints (name → SQL expression), from the model."""
    return {
        str(constraint.name): str(constraint.sqltext)
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def _verify_checks(
    connection: Connection, table: Table, checks: Mapping[str, str], after: int
) -> None:
    """Raise SQLite's own ``CHECK constraint failed`` error if a row inserted after rowid
    ``after`` breaks a CHECK constraint.

    SQLite evaluates an ``x IN ('a', 'b', …)`` CHECK by building a temporary table of the list
    for every row an ``executemany`` inserts: for the 432,000 observations of the medium demo
    that was 2 of the insert's 3.7 s CPU. One ``SELECT`` over the new rows builds it once."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    names = list(checks)
    tests = [f"({checks[name]}) IS 0" for name in names]  # CHECK fails on false, not NULL
    broken = connection.exec_driver_sql(
        f"SELECT {', '.join(tests)} FROM {table.name} WHERE rowid > ? AND "
        f"({' OR '.join(tests)}) LIMIT 1",
        (after,),
    ).first()
    if broken is None:
        return
    name = next(name for name, failed in zip(names, broken, strict=True) if failed)
    error = sqlite3.IntegrityError(f"CHECK constraint failed: {name}")
    raise DBAPIError.instance(f"INSERT INTO {table.name}", None, error, sqlite3.Error)


@contextmanager
def keys_checked_by_value(engine: Engine) -> Iterator[Session]:
    """A transaction (as :func:`inclusive_cities.store.transaction`) in which, on SQLite,
    :func:`bulk_insert` checks foreign keys once per distinct value instead of SQLite
    looking up every parent for every row (≈ 0.5 s of the 2 s CPU of inserting the medium
    demo's 438,000 observations). SQLite can only switch its checks off outside a
    transaction, so they are off for the whole block: use it only for work whose other
    statements neither insert child rows nor rely on ``ON DELETE CASCADE``. Elsewhere it is
    a plain transaction."""
    from inclusive_cities.store.engine import transaction

    if engine.dialect.name != "sqlite":
        with transaction(engine) as session:
            yield session
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.commit()
        connection.info[KEYS_BY_VALUE] = True
        try:
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            connection.info.pop(KEYS_BY_VALUE, None)
            if connection.in_transaction():
                connection.rollback()
            # after the commit or rollback: inside a transaction the pragma does nothing
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()


def _verify_foreign_keys(
    connection: Connection, table: Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Raise SQLite's own ``FOREIGN KEY constraint failed`` error if a value of a foreign
    key column has no parent row: one query per key over its distinct values."""
    import json
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    for key in table.foreign_keys:
        name = key.parent.name
        if name not in columns:
            continue
        values = pd.unique(pd.Series(columns[name]).dropna())
        if len(values) == 0:
            continue
        listed = [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]
        target = key.column
        found = connection.exec_driver_sql(
            f'SELECT count(*) FROM "{target.table.name}" WHERE "{target.name}" IN '
            "(SELECT value FROM json_each(?))",
            (json.dumps(listed),),
        ).scalar()
        if int(found or 0) < len(listed):
            error = sqlite3.IntegrityError("FOREIGN KEY constraint failed")
            raise DBAPIError.instance(f"INSERT INTO {table.name}", None, error, sqlite3.Error)


@contextmanager
def plain_indexes_dropped(
    target: Session | Connection, table: FromClause, adding: int, removing: int = 0
) -> Iterator[bool]:
    """SQLite: while the block runs, drop the table's plain indexes when the rows it will
    delete (``removing``) and insert (``adding``) outnumber those that stay; recreate them
    at the end, in the same transaction. Yields whether they were dropped.

    Replacing the medium demo's 432,000 observations deleted each row from four B-trees and
    then inserted it into four again; with the three plain indexes gone the delete costs
    half (≈0.5 s CPU less) and the insert loses a B-tree insert per row per index, for one
    sort per index at the end. The unique constraint's index stays (it is the constraint).
    Nothing happens on other databases or for small changes."""
    connection = target.connection() if isinstance(target, Session) else target
    dropped: list[str] = []
    if connection.dialect.name == "sqlite":
        dropped = _drop_indexes(connection, cast(Table, table), adding + removing, removing)
    try:
        yield bool(dropped)
    except BaseException:
        # the caller's rollback brings them back (DDL is transactional in SQLite); recreating
        # them here too keeps them if it commits anyway, without hiding the first error
        with suppress(Exception):
            for create in dropped:
                connection.exec_driver_sql(create)
        raise
    for create in dropped:
        connection.exec_driver_sql(create)


def _drop_indexes(
    connection: Connection, table: Table, changing: int, removing: int = 0
) -> list[str]:
    """Drop the table's named (non-unique-constraint) SQLite indexes if ``changing`` rows
    (inserted and deleted) are at least as many as the rows that stay (the table's rows less
    ``removing``); return the statements that recreate them."""
    existing = connection.exec_driver_sql(f"SELECT count(*) FROM {table.name}").scalar() or 0
    if changing < existing - removing:
        return []
    found = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table.name,),
    ).all()
    if found:
        # Python's sqlite3 opens its transaction only before a DML statement: a DROP INDEX
        # sent first would commit at once, and a crash before the end would lose the
        # indexes. A statement that changes nothing opens it, so the drop rolls back too.
        connection.exec_driver_sql(f'DELETE FROM "{table.name}" WHERE 0')
    for name, _sql in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(sql) for _name, sql in found]


def _scalar_defaults(table: Table, given: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    """The model's plain Python defaults (``sex='_T'``, ``imputed=False``) for columns not
    given: ORM inserts apply them, raw inserts would leave NULL instead."""
    length = len(next(iter(given.values()), []))
    filled: dict[str, list[Any]] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or not getattr(default, "is_scalar", False):
            continue
        filled[column.name] = [default.arg] * length  # type: ignore[attr-defined]
    return filled


def _copy(connection: Connection, table: Table, names: list[str], rows: Iterable[tuple]) -> None:
    """``COPY table (columns) FROM STDIN`` on the session's psycopg connection; a failure
    is raised as SQLAlchemy's error (IntegrityError …), as the executemany path does."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.exc import DBAPIError

    raw = connection.connection.driver_connection
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table.name),
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in names),
    )
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as error:
        text = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        raise DBAPIError.instance(text, None, error, psycopg.Error) from error
