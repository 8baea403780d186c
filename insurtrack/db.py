"""The store: engine creation, SQLite tuning, schema upgrades and transactions.

Never a module-level engine: the CLI picks the URL (--db > INSURTRACK_DB > config > default) at run
time. The first command against a new or older database upgrades it with Alembic by itself.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from insurtrack.errors import StoreError
# The schema revision this code expects, and where the database is: in store.py, which the read
# paths that run without SQLAlchemy use too.
from insurtrack.store import SCHEMA_HEAD, resolve_url  # noqa: F401


def make_engine(url: str, *, busy_timeout_ms: int = 10000) -> Engine:
    if url.startswith("postgresql") and url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        engine = create_engine(url)
    except Exception as exc:  # bad URL syntax, missing driver
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        _tune_sqlite(engine, busy_timeout_ms)
    return engine


def _create_private(database: str | None) -> None:
    """A new SQLite file is created readable by its owner only (0600) before the first connect;
    SQLite gives its -wal, -shm and -journal files the same mode. An existing file is left as is."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # exists already, or a folder SQLite will report on when it connects
        pass


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, a busy timeout; and transactions whose BEGIN we control, so that a
    writing transaction takes the write lock up front (BEGIN IMMEDIATE) instead of failing with
    "database is locked" half-way."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get("insurtrack_write", False):
            _begin_immediate(conn.connection.dbapi_connection, busy_timeout_ms)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_conn, busy_timeout_ms: int) -> None:
    """BEGIN IMMEDIATE, waiting up to busy_timeout_ms while other writers hold the lock.

    Not left to SQLite's busy handler: it sleeps longer and longer between tries (up to 100 ms),
    so under steady contention a writer that has waited a while keeps losing the lock to
    newcomers that still try every millisecond — with eight busy writers one can starve past the
    timeout and the user gets "database is locked" — and the lock often lies free while every
    waiter sleeps. Every waiter here tries again every few milliseconds until the deadline."""
    import random
    import sqlite3
    import time

    deadline = time.monotonic() + busy_timeout_ms / 1000
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout = 0")
        while True:
            try:
                cur.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", 5) & 0xFF == 5 or "locked" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
            time.sleep(random.uniform(0.002, 0.005))
    finally:
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cur.close()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with _one_upgrader(engine):
        command.upgrade(alembic_config(engine), revision)


# pg_advisory_lock key held while the schema is upgraded ("insu").
_UPGRADE_LOCK = 0x696E7375


@contextmanager
def _one_upgrader(engine: Engine) -> Iterator[None]:
    """One process upgrades the schema at a time; the others wait, then find it current (Alembic
    reads the revision inside the upgrade's transaction) and have nothing to do. Every staff
    member's first command after an update upgrades at once otherwise, and on PostgreSQL all but
    one fail creating what the first created. SQLite needs nothing here: the upgrade's
    transaction takes the write lock up front (migrations/env.py)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:  # a session lock, on a connection of its own
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK})
        conn.commit()  # the lock is the session's: no transaction left open meanwhile
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK})
            conn.commit()


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the schema when it is not at SCHEMA_HEAD (Alembic loaded only then)."""
    try:
        if current_revision(engine) == SCHEMA_HEAD:
            return
        upgrade(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open the database {engine.url.render_as_string()!r}: "
                         f"{exc.orig}") from exc
    except DBAPIError as exc:
        raise StoreError(f"database error while upgrading the schema: {exc.orig}") from exc


# Writing transactions committed through each engine (see writes_committed).
_writes: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


@contextmanager
def write(engine: Engine) -> Iterator[Any]:
    """One writing transaction (an ORM session): committed when the block ends, rolled back on
    any error."""
    from sqlmodel import Session

    with Session(engine.execution_options(insurtrack_write=True), expire_on_commit=False) as session:
        with session.begin():
            yield session
    _writes[engine] = _writes.get(engine, 0) + 1


def writes_committed(engine: Engine) -> int:
    """How many writing transactions (db.write) have committed through `engine`: a command may
    be run again from the start after a transient failure only while this is 0 (cli/app.py)."""
    return _writes.get(engine, 0)


@contextmanager
def read(engine: Engine) -> Iterator[Any]:
    """A read-only view of the store (an ORM session)."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session
