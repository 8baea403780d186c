"""The store: Alembic owns the schema, the first command upgrades it, SQLite is tuned (D3)."""

from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text
from sqlmodel import SQLModel

from insurtrack import db, store
from insurtrack.domain import models as m
from insurtrack.errors import StoreError
from tests.conftest import PG_URL


def test_schema_head_constant_matches_the_revisions(engine):
    script = ScriptDirectory.from_config(db.alembic_config(engine))
    assert script.get_current_head() == db.SCHEMA_HEAD


def test_models_and_migrations_agree(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                SQLModel.metadata)
    assert diff == []


@pytest.mark.skipif(bool(PG_URL), reason="builds its own SQLite files")
def test_first_command_creates_the_database(tmp_path, bare_cli):
    path = tmp_path / "fresh" / "book.db"
    path.parent.mkdir()
    result = bare_cli("--db", str(path), "customer", "list", as_="nobody")
    assert result.exit_code == 5  # no staff yet: a clear refusal, but the store now exists
    assert "staff add" in result.stderr
    engine = db.make_engine(f"sqlite:///{path}")
    assert db.current_revision(engine) == db.SCHEMA_HEAD
    engine.dispose()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite pragmas")
def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(engine):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


@pytest.mark.skipif(bool(PG_URL), reason="SQLite locking")
def test_writers_take_the_lock_up_front(engine):
    """BEGIN IMMEDIATE: a second writer waits at BEGIN (then times out cleanly), never mid-way."""
    import sqlite3

    with db.write(engine) as session:
        session.execute(text("SELECT 1"))
        other = sqlite3.connect(engine.url.database, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


def test_downgrade_and_upgrade_round_trip(engine):
    from alembic import command

    cfg = db.alembic_config(engine)
    command.downgrade(cfg, "base")
    assert db.current_revision(engine) is None
    db.ensure_schema(engine)
    assert db.current_revision(engine) == db.SCHEMA_HEAD


def test_url_precedence(tmp_path):
    env = {"INSURTRACK_DB": str(tmp_path / "env.db")}
    assert db.resolve_url(str(tmp_path / "flag.db"), env, "sqlite:///cfg.db").endswith("flag.db")
    assert db.resolve_url(None, env, "sqlite:///cfg.db").endswith("env.db")
    assert db.resolve_url(None, {}, "sqlite:///cfg.db") == "sqlite:///cfg.db"
    assert db.resolve_url(None, {}, "postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_default_database_lives_in_the_data_directory(monkeypatch, tmp_path):
    from insurtrack import config

    monkeypatch.setattr(config, "default_data_dir", lambda: tmp_path / "data")
    url = db.resolve_url(None, {}, "")
    assert url == f"sqlite:///{tmp_path / 'data' / 'insurtrack.db'}"
    assert (tmp_path / "data").is_dir()


@pytest.mark.parametrize("raw,words", [
    ("mysql://u@h/d", "unsupported database URL"),
    ("/no/such/folder/book.db", "does not exist"),
])
def test_bad_database_locations(raw, words):
    with pytest.raises(StoreError, match=words):
        db.resolve_url(raw, {}, "")


def test_unreachable_server_is_a_clear_error_exit_7(bare_cli):
    result = bare_cli("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "customer", "list")
    assert result.exit_code == 7
    assert "cannot open the database" in result.stderr and "Traceback" not in result.stderr


def test_schema_upgrade_keeps_existing_rows(engine, staff):
    """Re-running the upgrade on a populated store changes nothing (idempotent first command)."""
    from tests.conftest import row_counts

    before = row_counts(engine)
    db.ensure_schema(engine)
    assert row_counts(engine) == before and before["staff"] == len(staff)


def test_upgrade_to_0005_puts_a_one_line_policys_product_on_its_row(engine, work):
    """Migration 0005 fills policy.product from the lines of a book written before it: the
    product of a policy of one line, NULL for one of several lines."""
    from alembic import command

    from tests import factories

    with work("sally") as w:
        cust = factories.customer(w)
        one = factories.policy(w, cust).code
        two = factories.policy(w, cust, lines=(("term-life", "1000.00", "10.00"),
                                               ("accident", "500.00", "5.00"))).code
    command.downgrade(db.alembic_config(engine), "0004")
    db.ensure_schema(engine)
    with engine.connect() as conn:
        got = dict(conn.exec_driver_sql("SELECT code, product FROM policy").all())
    assert got == {one: "term-life", two: None}


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's snapshots")
def test_snapshot_readers_share_one_snapshot_and_never_write(engine, staff):
    """store.snapshot(): read-only connections that all see the book as it was when they began —
    a commit afterwards is seen by none — and one reader when the write lock (which holds
    writers off while the readers begin) cannot be had."""
    import sqlite3

    def count(conn) -> int:
        return conn.execute("SELECT count(*) FROM staff").fetchone()[0]

    before = len(staff)
    with store.snapshot(engine.url.database, 2) as readers:
        assert len(readers) == 2
        with engine.begin() as conn:  # a writer commits while the readers are open
            conn.execute(insert(m.Staff), [{"code": "late", "name": "Late", "department":
                                            "sales", "created_at": datetime.now(timezone.utc)}])
        assert [count(r) for r in readers] == [before, before]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            readers[0].execute("DELETE FROM staff")
    with store.snapshot(engine.url.database, 2) as readers:
        assert [count(r) for r in readers] == [before + 1] * 2
    with db.write(engine) as session:  # another writer holds the lock: one reader
        session.execute(select(1))
        with store.snapshot(engine.url.database, 2, wait_ms=10) as readers:
            assert len(readers) == 1
