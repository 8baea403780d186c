"""The light part of the store, for the commands run most (the `due` board: issue 5 gives it
0.35 s at 1,000,000 policies, and importing SQLAlchemy alone takes a third of that): where the
database is, the schema revision this code expects, and on SQLite a read-only transaction through
the standard library's driver. Nothing here imports SQLAlchemy; db.py is the engine, the schema
upgrades and the writing transactions.

`rows(conn, sql, params)` runs one SQL statement, written once with `:name` parameters, on any
connection the read paths are given: a `LiteConnection`, or SQLAlchemy's Connection or Session
(PostgreSQL, and the ORM's units of work). Values come back as the driver gives them — SQLite's
text for instants and dates, PostgreSQL's own types — and `instant`, `day`, `document`
read either the same way the column types of domain/types.py do.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from decimal import Decimal

# The newest Alembic revision this code expects; a test checks it against migrations/versions.
SCHEMA_HEAD = "0005"

UTC = timezone.utc


def resolve_url(flag: str | None, env: Mapping[str, str], configured: str) -> str:
    """--db > INSURTRACK_DB > database.url > a SQLite file in the user's data directory."""
    from insurtrack.config import ENV_DB, default_data_dir
    from insurtrack.errors import StoreError

    raw = flag or env.get(ENV_DB) or configured
    if not raw:
        folder = default_data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / 'insurtrack.db'}"
    if "://" in raw:
        if not raw.startswith(("sqlite", "postgresql")):
            raise StoreError(f"--db {raw!r}: unsupported database URL (use a file path, "
                             "sqlite:///PATH or postgresql+psycopg://…)")
        return raw
    path = Path(raw).expanduser().resolve()
    if not path.parent.is_dir():
        raise StoreError(f"--db {raw!r}: folder {str(path.parent)!r} does not exist")
    return f"sqlite:///{path}"


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite URL ('sqlite:///PATH', as resolve_url makes them); None for
    any other URL (another database, memory, URL options), which goes through SQLAlchemy."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix):]
    return path if path and path != ":memory:" else None


class LiteConnection:
    """A read-only transaction on a SQLite file through the standard library's driver."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        return self.raw.execute(sql, params or {}).fetchall()


@contextmanager
def lite_read(url: str, busy_timeout_ms: int) -> Iterator[LiteConnection | None]:
    """A read transaction on the SQLite file of `url` without SQLAlchemy, or None when the fast
    way does not apply — not a plain SQLite file, no such file yet, a schema that is not at
    SCHEMA_HEAD — and the caller goes through the engine (which creates or upgrades it)."""
    path = sqlite_file(url)
    if path is None or not os.path.isfile(path):
        yield None
        return
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        raw.execute("PRAGMA query_only = 1")
        raw.execute("BEGIN")
        try:
            found = raw.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError:  # not migrated (or not a database: the engine says so)
            found = []
        if found != [(SCHEMA_HEAD,)]:
            raw.execute("ROLLBACK")
            yield None
            return
        yield LiteConnection(raw)
        raw.execute("COMMIT")
    finally:
        raw.close()


@contextmanager
def snapshot(path: str, count: int, *, wait_ms: int = 200) -> Iterator[list[sqlite3.Connection]]:
    """Up to `count` read-only connections to the SQLite file `path`, each in a read
    transaction, all on the same snapshot of the book, for threads to read in parallel (each
    connection used by one thread at a time): `export` (reports/export.py). Their text comes as
    UTF-8 bytes.

    The same snapshot: in WAL mode a read transaction sees the book as it was at its first read,
    so two readers begun one after the other could see two states if a writer committed in
    between. A third connection therefore holds the write lock (BEGIN IMMEDIATE: readers go on,
    writers wait) while each reader begins and reads, and lets go as soon as all have: no commit
    can fall between two readers' first reads. Where the lock cannot be had within `wait_ms` (a
    writer holds it; a file this user may only read) there is one reader."""
    from insurtrack.errors import StoreError

    uri = Path(path).resolve().as_uri() + "?mode=ro"
    readers: list[sqlite3.Connection] = []
    lock = None
    try:
        try:
            if count > 1:
                try:
                    lock = sqlite3.connect(path, timeout=wait_ms / 1000, isolation_level=None)
                    lock.execute("BEGIN IMMEDIATE")
                except sqlite3.Error:
                    if lock is not None:
                        lock.close()
                    lock, count = None, 1
            for _ in range(count):
                reader = sqlite3.connect(uri, uri=True, isolation_level=None,
                                         check_same_thread=False, timeout=10)
                readers.append(reader)
                reader.text_factory = bytes
                reader.execute("PRAGMA temp_store = MEMORY")
                reader.execute("BEGIN")
                reader.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # its snapshot
            if lock is not None:
                lock.execute("ROLLBACK")
                lock.close()
                lock = None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the database {path!r}: {exc}") from exc
        yield readers
    finally:
        if lock is not None:
            lock.close()
        for reader in readers:
            reader.close()  # its read transaction ends with it


def sqlite_path(conn: Any) -> str | None:
    """The file of the SQLite database a read path's connection is on (a LiteConnection, or
    SQLAlchemy's Connection or Session); None for another database or one in memory."""
    if not is_sqlite(conn):
        return None
    found = [r for r in rows(conn, "PRAGMA database_list") if r[1] == "main"]
    return found[0][2] or None if found else None


def rows(conn: Any, sql: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """The rows of one statement (`:name` parameters) on any connection of the read paths. In
    an ORM session the unit of work's pending changes are flushed first, so the statement sees
    them (a session autoflushes before ORM statements only)."""
    if isinstance(conn, LiteConnection):
        return conn.execute(sql, params)
    from sqlalchemy import text

    if hasattr(conn, "flush"):
        conn.flush()
    return conn.execute(text(sql), params or {}).all()


def is_sqlite(conn: Any) -> bool:
    if isinstance(conn, LiteConnection):
        return True
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    return bind.dialect.name == "sqlite"


def bind_instant(conn: Any, when: datetime) -> Any:
    """An instant as a parameter compared with stored instants: on SQLite the text UTCDateTime
    stores (naive UTC, to the microsecond, which sorts as time does), elsewhere the instant."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when!r}: instants must be timezone-aware")
    if is_sqlite(conn):
        return when.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return when


_parse = datetime.fromisoformat


def instant(value: Any) -> datetime | None:
    """A stored instant as an aware UTC datetime (as UTCDateTime reads it)."""
    if value is None:
        return None
    if value.__class__ is str:
        return _parse(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day(value: Any) -> date | None:
    if value is None or value.__class__ is date:
        return value
    return date.fromisoformat(value)


def money(value: Any, places: int = 2) -> Decimal | None:
    """A stored amount (a scaled integer) as a Decimal with its places (as Fixed reads it)."""
    from decimal import Decimal   # not for `due`, which shows no amount

    return None if value is None else Decimal(int(value)).scaleb(-places)


def document(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, PostgreSQL the decoded document."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value
