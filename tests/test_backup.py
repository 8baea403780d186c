"""Backups and restores (D3): consistent copies while others write, kept private, pruned to the last
N; a restore checks its file first, saves the current database, and changes nothing when refused."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from insurtrack import db
from tests.conftest import PG_URL

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite backups of SQLite files")

STAMP = "20260302T010000Z"  # the pinned clock: 2026-03-02 09:00 Shanghai, in UTC
ROOT = Path(__file__).parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _db_path(cli) -> Path:
    return Path(cli.db_url.removeprefix("sqlite:///"))


def _backup(cli, *args) -> dict:
    return cli.json("backup", *args)


def _query(path: Path, sql: str):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


def _customers(cli, *names):
    for name in names:
        cli.ok("customer", "add", name, "--phone", "13800000001")


# ------------------------------------------------------------------ backup

WRITER = r"""
import sys
from pathlib import Path
from sqlalchemy import select
from insurtrack import config, db
from insurtrack.clock import SystemClock
from insurtrack.domain import models as m
from insurtrack.domain.states import CustomerKind
from insurtrack.services import customers
from insurtrack.services.base import Work

url, stop = sys.argv[1], Path(sys.argv[2])
settings = config.Settings(values={s.key: s.default for s in config.SPEC})
engine = db.make_engine(url)
i = 0
print("started", flush=True)
while not stop.exists():
    with db.write(engine) as session:
        boss = session.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=session, actor=boss, clock=SystemClock(), settings=settings)
        customers.add(w, kind=CustomerKind.PERSON, name=f"Writer {i}")
    i += 1
print(i, flush=True)
"""


def _consistent(path: Path) -> int:
    """The copy is sound and every customer in it has its customer.added event (and no event
    lacks its customer): one instant, never half a transaction. Returns the customer count."""
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]
    assert _query(path, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    customers = _query(path, "SELECT count(*) FROM customer")[0][0]
    added = _query(path, "SELECT count(*) FROM event WHERE type = 'customer.added'")[0][0]
    orphans = _query(path, "SELECT count(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM "
                           "event e WHERE e.type = 'customer.added' AND e.subject = c.code)")[0][0]
    assert customers == added and orphans == 0
    return customers


@sqlite_only
def test_backup_while_another_process_keeps_writing(cli, tmp_path):
    stop = tmp_path / "stop"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, cli.db_url, str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert writer.stdout.readline().strip() == "started", writer.stderr.read()
        deadline = time.monotonic() + 60
        while _query(_db_path(cli), "SELECT count(*) FROM customer")[0][0] < 20:
            assert writer.poll() is None, writer.stderr.read()
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.05)
        counts = []
        for _ in range(4):
            made = _backup(cli)
            counts.append(_consistent(Path(made["path"])))
            cli.clock.advance(minutes=1)
            time.sleep(0.1)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = int(out.strip())
    assert 20 <= counts[0] and counts == sorted(counts)
    assert counts[-1] > counts[0], "the writer kept writing while the backups ran"
    assert _consistent(_db_path(cli)) == written


@sqlite_only
def test_backup_is_private_named_by_the_clock_and_checked(cli, tmp_path):
    _customers(cli, "Li Na")
    made = _backup(cli)
    folder = tmp_path / "backups"
    path = folder / f"insurtrack-{STAMP}.db"
    assert made["path"] == str(path)
    assert made["size_bytes"] == path.stat().st_size > 0
    assert made["integrity"] == "ok" and made["schema"] == db.SCHEMA_HEAD
    assert made["pruned"] == [] and made["kept"] == 1
    assert _mode(folder) == 0o700
    assert _mode(path) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [path.name]  # no -wal, -shm or partial
    assert _query(path, "PRAGMA journal_mode") == [("delete",)]  # one self-contained file
    assert _query(path, "SELECT name FROM customer") == [("Li Na",)]


@sqlite_only
def test_backup_to_a_new_folder_creates_it_private(cli, tmp_path):
    old_umask = os.umask(0o022)
    try:
        target = tmp_path / "safe" / "nightly"
        result = cli.ok("backup", "--to", str(target))
    finally:
        os.umask(old_umask)
    assert _mode(target) == 0o700
    assert _mode(target / f"insurtrack-{STAMP}.db") == 0o600
    assert str(target / f"insurtrack-{STAMP}.db") in result.stdout
    assert "integrity" in result.stdout and "pruned" in result.stdout


@sqlite_only
def test_pruning_keeps_exactly_the_n_newest_and_no_other_file(cli, tmp_path):
    folder = tmp_path / "backups"
    made = []
    for _ in range(5):
        made.append(Path(_backup(cli, "--keep", "10")["path"]))
        cli.clock.advance(hours=1)
    others = ["notes.txt", "insurtrack-notes.db", "insurtrack-20200101T000000Z.db.bak",
              f"pre-restore-{STAMP}.db", "insurtrack-2020.db"]
    for name in others:
        (folder / name).write_text("keep me")
    last = _backup(cli, "--keep", "3")
    made.append(Path(last["path"]))
    assert sorted(last["pruned"]) == sorted(str(p) for p in made[:3])
    assert last["kept"] == 3
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([p.name for p in made[3:]] + others)
    for name in others:
        assert (folder / name).read_text() == "keep me"
    # default --keep is 7
    for _ in range(8):
        cli.clock.advance(hours=1)
        _backup(cli)
    assert len(list(folder.glob("insurtrack-*T*Z.db"))) == 7


@sqlite_only
def test_bad_keep_is_exit_2_and_writes_nothing(cli, tmp_path):
    cli.fails(2, "backup", "--keep", "0", expect="--keep")
    cli.fails(2, "backup", "--keep", "-3")
    assert not (tmp_path / "backups").exists()


@sqlite_only
def test_a_second_backup_in_the_same_second_is_refused(cli, tmp_path):
    first = Path(_backup(cli)["path"])
    before = first.read_bytes()
    cli.fails(4, "backup", expect="already exists")
    assert first.read_bytes() == before
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [first.name]


@sqlite_only
def test_backup_of_a_missing_database_is_exit_7_and_creates_nothing(bare_cli, tmp_path):
    missing = tmp_path / "none" / "book.db"
    missing.parent.mkdir()
    result = bare_cli("--db", str(missing), "backup")
    assert result.exit_code == 7, result.stderr
    assert "nothing to back up" in result.stderr
    assert list(missing.parent.iterdir()) == []


@sqlite_only
def test_a_new_database_file_is_created_readable_by_the_owner_only(bare_cli, tmp_path):
    path = tmp_path / "fresh" / "book.db"
    path.parent.mkdir()
    old_umask = os.umask(0o022)
    try:
        result = bare_cli("--db", str(path), "customer", "list", as_="nobody")
        assert result.exit_code == 5  # no staff yet, but the store now exists
        assert _mode(path) == 0o600
        with sqlite3.connect(path) as conn:  # WAL: the -wal and -shm files exist while open
            conn.execute("SELECT count(*) FROM staff").fetchall()
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                assert side.exists() and _mode(side) == 0o600, suffix
    finally:
        os.umask(old_umask)


def test_postgresql_is_refused_with_the_pg_dump_command(cli):
    url = "postgresql+psycopg://alice:s3cret@db.example.com:5433/book"
    result = cli.fails(4, "--db", url, "backup", "--to", "/srv/backups", expect="pg_dump")
    assert (f"pg_dump --format=custom --file=/srv/backups/insurtrack-{STAMP}.dump "
            "--host=db.example.com --port=5433 --username=alice book") in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    result = cli.fails(4, "--db", "postgresql://bob@localhost/insurtrack", "backup")
    assert (f"pg_dump --format=custom --file=insurtrack-{STAMP}.dump --host=localhost "
            "--username=bob insurtrack") in result.stderr
    result = cli.fails(4, "--db", url, "restore", __file__, "--yes", expect="pg_restore")
    assert "s3cret" not in result.stderr


# ------------------------------------------------------------------ restore

@sqlite_only
def test_restore_round_trip_with_a_safety_backup(cli, tmp_path):
    _customers(cli, "Li Na")
    saved = Path(_backup(cli)["path"])
    _customers(cli, "Wang Wei", "Zhao Lei")
    assert len(cli.json("customer", "list")) == 3
    cli.clock.advance(minutes=5)
    done = cli.json("restore", str(saved), "--yes")
    assert [c["name"] for c in cli.json("customer", "list")] == ["Li Na"]
    safety = tmp_path / "backups" / "pre-restore-20260302T010500Z.db"
    assert done["safety_backup"] == str(safety)
    assert done["schema"] == done["file_schema"] == db.SCHEMA_HEAD
    assert _mode(safety) == 0o600
    assert sorted(r[0] for r in _query(safety, "SELECT name FROM customer")) == \
        ["Li Na", "Wang Wei", "Zhao Lei"]
    path = _db_path(cli)
    assert _query(path, "PRAGMA integrity_check") == [("ok",)]
    assert _query(path, "PRAGMA journal_mode") == [("wal",)]  # still WAL, copied in place
    # the database goes on working, and the next customer gets the next free code
    _customers(cli, "Sun Li")
    assert [c["code"] for c in cli.json("customer", "list")] == ["C-000001", "C-000002"]
    # safety backups are never pruned
    for _ in range(3):
        cli.clock.advance(hours=1)
        _backup(cli, "--keep", "1")
    assert safety.exists()


@sqlite_only
def test_restore_of_an_older_schema_upgrades_it(cli, tmp_path):
    old = tmp_path / "old.db"
    engine = db.make_engine(f"sqlite:///{old}")
    db.upgrade(engine, "0001")
    engine.dispose()
    done = cli.json("restore", str(old), "--yes")
    assert done["file_schema"] == "0001" and done["schema"] == db.SCHEMA_HEAD
    assert db.current_revision(cli.engine) == db.SCHEMA_HEAD
    assert _query(_db_path(cli), "SELECT count(*) FROM staff") == [(0,)]  # the file's content


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(50_000))
    return path


def _truncated(cli, path: Path) -> Path:
    good = Path(_backup(cli)["path"])
    data = good.read_bytes()
    good.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def _scribbled(cli, path: Path) -> Path:
    good = Path(_backup(cli)["path"])
    data = bytearray(good.read_bytes())
    good.unlink()
    page = 4096
    for start in range(2 * page, len(data), page):
        data[start + 8: start + 200] = os.urandom(192)
    path.write_bytes(bytes(data))
    return path


@sqlite_only
@pytest.mark.parametrize("make", ["garbage", "truncated", "scribbled", "empty"])
def test_restore_refuses_a_damaged_file_and_changes_nothing(cli, tmp_path, make):
    _customers(cli, "Li Na")
    bad = tmp_path / f"{make}.db"
    if make == "garbage":
        _garbage(bad)
    elif make == "truncated":
        _truncated(cli, bad)
    elif make == "scribbled":
        _scribbled(cli, bad)
    else:
        bad.write_bytes(b"")
    code = 4 if make == "empty" else 2  # an empty file is a valid, empty, non-insurtrack database
    cli.fails(code, "restore", str(bad), "--yes", expect=bad.name)  # and no row changed
    assert not list(tmp_path.glob("backups/pre-restore-*"))  # no safety backup: nothing written
    assert [c["name"] for c in cli.json("customer", "list")] == ["Li Na"]


@sqlite_only
def test_restore_refuses_a_foreign_or_newer_database(cli, tmp_path):
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customer (name) VALUES ('Mallory')")
    cli.fails(4, "restore", str(foreign), "--yes", expect="not an insurtrack database")

    newer = Path(_backup(cli)["path"]).rename(tmp_path / "newer.db")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    cli.fails(4, "restore", str(newer), "--yes", expect="'9999'")
    cli.fails(2, "restore", str(tmp_path / "missing.db"), "--yes", expect="no such file")
    assert not list(tmp_path.glob("backups/pre-restore-*"))


@sqlite_only
def test_restore_needs_yes_when_not_on_a_terminal(cli, tmp_path):
    saved = Path(_backup(cli)["path"])
    _customers(cli, "Wang Wei")
    cli.fails(4, "restore", str(saved), expect="--yes")
    assert [c["name"] for c in cli.json("customer", "list")] == ["Wang Wei"]
    assert not list((tmp_path / "backups").glob("pre-restore-*"))


@sqlite_only
def test_restore_refuses_the_database_itself(cli):
    cli.fails(4, "restore", str(_db_path(cli)), "--yes", expect="database itself")


@sqlite_only
def test_restore_asks_on_a_terminal(cli, tmp_path, monkeypatch):
    import typer

    from insurtrack.cli import backup as backup_cli

    saved = Path(_backup(cli)["path"])
    _customers(cli, "Wang Wei")
    monkeypatch.setattr(backup_cli, "_interactive", lambda: True)
    asked = []
    monkeypatch.setattr(typer, "confirm", lambda q, **kw: asked.append(q) or False)
    cli.fails(4, "restore", str(saved), expect="not confirmed")
    assert "Replace the database" in asked[0]
    assert not list(tmp_path.glob("backups/pre-restore-*"))
    monkeypatch.setattr(typer, "confirm", lambda q, **kw: True)
    cli.ok("restore", str(saved))
    assert cli.json("customer", "list") == []
