"""The store: engine creation, SQLite tuning, schema upgrades and transactions.

Never a module-level engine: the CLI picks the URL (--db > INSURTRACK_DB > config > default) at run
time. The first command against a new or older database upgrades it with Alembic by itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from insurtrack.errors import StoreError

# The newest Alembic revision this code expects; a test checks it against migrations/versions.
SCHEMA_HEAD = "0002"


def resolve_url(flag: str | None, env: Mapping[str, str], configured: str) -> str:
    """--db > INSURTRACK_DB > database.url > a SQLite file in the user's data directory."""
    from insurtrack.config import ENV_DB, default_data_dir

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
        immediate = conn.get_execution_options().get("insurtrack_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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

    command.upgrade(alembic_config(engine), revision)


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


@contextmanager
def write(engine: Engine) -> Iterator[Session]:
    """One writing transaction: committed when the block ends, rolled back on any error."""
    with Session(engine.execution_options(insurtrack_write=True), expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextmanager
def read(engine: Engine) -> Iterator[Session]:
    """A read-only view of the store."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session
