"""Backups and restores of the SQLite store (D3), through SQLite's online backup API.

`backup` copies the live database from a separate raw connection while others keep writing: the
copy is one read snapshot (WAL readers never block writers), so it is consistent at one instant.
The copy is checked (`PRAGMA integrity_check`, its Alembic revision) before it gets its final name
(`insurtrack-YYYYMMDDTHHMMSSZ.db`, from the clock, in UTC); only the last N such files are kept.

`restore` stages the file in a private temporary folder and checks it there (integrity, that it is
an insurtrack database, a schema not newer than this code) before anything is written; then it makes
a safety backup of the current database (`pre-restore-….db`, never pruned) and copies the staged
file INTO the live database through a connection, so readers and the WAL stay consistent; then
the schema is upgraded if the file was older.

Every file and folder made here is private: files 0600, a new folder 0700 (personal data).
PostgreSQL stores are refused with the exact pg_dump / pg_restore command to use instead.

No typer or rich here; errors are errors.* with their exit codes.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from insurtrack.errors import BadInput, Refused, StoreError

PREFIX = "insurtrack-"
SAFETY_PREFIX = "pre-restore-"
# Only files named exactly like this are ever pruned; anything else in the folder is left alone.
BACKUP_NAME = re.compile(r"^insurtrack-\d{8}T\d{6}Z\.db$")
DEFAULT_KEEP = 7
FILE_MODE = 0o600
DIR_MODE = 0o700


@dataclass
class BackupResult:
    path: Path
    size: int
    revision: str
    pruned: list[Path] = field(default_factory=list)
    kept: int = 0


@dataclass
class Staged:
    """A restore file, copied into a private folder and checked."""

    source: Path
    path: Path
    revision: str


@dataclass
class RestoreResult:
    database: Path
    source: Path
    revision: str
    schema: str
    safety_backup: Path | None


# ------------------------------------------------------------------ where the store is

def stamp(now: datetime) -> str:
    """The clock's instant as it appears in file names: 20261125T221500Z (UTC)."""
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sqlite_path(url: str, *, to: Path | None = None, now: datetime | None = None,
                action: str = "backup") -> Path:
    """The database file of a SQLite URL. A PostgreSQL URL is refused (exit 4) with the pg_dump
    (or pg_restore) command that does the job there; nothing is connected to."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:  # malformed URL
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise Refused(postgres_hint(url, to=to, now=now, action=action))
    if backend != "sqlite":
        raise Refused(f"{action} supports SQLite and PostgreSQL stores, not {backend}")
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise Refused(f"{action} needs a SQLite database file, not {url!r}")
    return Path(database).expanduser().resolve()


def postgres_hint(url: str, *, to: Path | None = None, now: datetime | None = None,
                  action: str = "backup") -> str:
    """One line: why not, and the exact command (host, port, user and database from the URL; the
    password is never shown — pg_dump reads it from ~/.pgpass or PGPASSWORD)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    host = u.host or u.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    conn = []
    if host:
        conn.append(f"--host={shlex.quote(str(host))}")
    if u.port:
        conn.append(f"--port={u.port}")
    if u.username:
        conn.append(f"--username={shlex.quote(u.username)}")
    dbname = shlex.quote(u.database or "DBNAME")
    name = f"{PREFIX}{stamp(now)}.dump" if now is not None else f"{PREFIX}DATE.dump"
    file = str((to / name) if to is not None else Path(name))
    if action == "restore":
        cmd = " ".join(["pg_restore", "--clean", "--if-exists", *conn, f"--dbname={dbname}",
                        "FILE.dump"])
        return (f"restore works on SQLite stores only; for PostgreSQL, restore a pg_dump file "
                f"with: {cmd} (the password comes from ~/.pgpass or PGPASSWORD)")
    cmd = " ".join(["pg_dump", "--format=custom", f"--file={shlex.quote(file)}", *conn, dbname])
    return (f"backup works on SQLite stores only; for PostgreSQL run: {cmd} "
            f"(the password comes from ~/.pgpass or PGPASSWORD, never the command line)")


# ------------------------------------------------------------------ low-level helpers

def _connect(path: Path, *, busy_timeout_ms: int, mode: str = "rw",
             immutable: bool = False) -> sqlite3.Connection:
    """A raw connection (autocommit) that never creates the file: mode ro or rw. `immutable`
    (read-only, for a file nobody writes) leaves no -wal or -shm file beside it."""
    uri = f"file:{quote(str(path))}?mode={mode}" + ("&immutable=1" if immutable else "")
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return conn


def _create_private(path: Path) -> None:
    """Create an empty file readable by its owner only (fails if it exists). SQLite gives the
    -journal, -wal and -shm files of a database the same mode as the database file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def _private_dir(folder: Path) -> None:
    """Create the folder 0700 when new; an existing folder keeps its mode."""
    if folder.is_dir():
        return
    try:
        folder.mkdir(mode=DIR_MODE, parents=True)
        os.chmod(folder, DIR_MODE)
    except FileExistsError:
        if not folder.is_dir():
            raise StoreError(f"backup folder {str(folder)!r} exists and is not a folder")
    except OSError as exc:
        raise StoreError(f"cannot create the backup folder {str(folder)!r}: "
                         f"{exc.strerror or exc}") from exc


def integrity(conn: sqlite3.Connection) -> list[str]:
    """`PRAGMA integrity_check`: ['ok'] for a sound database, else the problems found."""
    return [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]


def revision_of(conn: sqlite3.Connection) -> str | None:
    """The Alembic revision recorded in the database; None when it has no alembic_version."""
    has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'alembic_version'").fetchone()
    if not has:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def known_revisions() -> list[str]:
    """Every schema revision this code can open (the base first, db.SCHEMA_HEAD last)."""
    from alembic.script import ScriptDirectory

    from insurtrack import db

    script = ScriptDirectory.from_config(db.alembic_config(None))
    return [r.revision for r in reversed(list(script.iterate_revisions(db.SCHEMA_HEAD, "base")))]


def _copy(src: sqlite3.Connection, dest: Path, *, busy_timeout_ms: int) -> None:
    """Copy src into the new, empty file dest with the online backup API, in one step: one read
    snapshot of the source, so the copy is consistent while others write. The copy is made a
    single self-contained file (rollback journal, not WAL)."""
    with closing(sqlite3.connect(str(dest), timeout=busy_timeout_ms / 1000,
                                 isolation_level=None)) as out:
        src.backup(out)  # pages=-1: everything at once, from one snapshot
        out.execute("PRAGMA journal_mode = DELETE")


def _remove_quietly(path: Path) -> None:
    for p in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _sqlite_error(path: Path, exc: sqlite3.Error, what: str) -> StoreError:
    return StoreError(f"{what} {str(path)!r}: {exc}")


# ------------------------------------------------------------------ backup

def backup_dir(database: Path, to: Path | None) -> Path:
    """--to, or a `backups` folder beside the database file."""
    return (to.expanduser().resolve() if to is not None else database.parent / "backups")


def backup(url: str, *, now: datetime, to: Path | None = None, keep: int = DEFAULT_KEEP,
           busy_timeout_ms: int = 10000) -> BackupResult:
    """Copy the live database into DIR/insurtrack-<UTC stamp>.db (0600), check the copy, then keep
    the newest `keep` backups of that name (other files are never touched)."""
    if keep < 1:
        raise BadInput("--keep", keep, "must be 1 or more (the backup just made is always kept)")
    database = sqlite_path(url, to=to, now=now)
    if not database.is_file():
        raise StoreError(f"no database at {str(database)!r}: nothing to back up")
    folder = backup_dir(database, to)
    final = folder / f"{PREFIX}{stamp(now)}.db"
    partial = folder / f".{final.name}.partial"
    try:
        with closing(_connect(database, busy_timeout_ms=busy_timeout_ms)) as src:
            source_revision = revision_of(src)
            if source_revision is None:
                raise Refused(f"{database} is not an insurtrack database (no alembic_version "
                              "table): nothing to back up")
            if final.exists():
                raise Refused(f"{final} already exists: one backup per second (nothing written)")
            _private_dir(folder)
            _remove_quietly(partial)
            try:
                _create_private(partial)
            except OSError as exc:
                raise StoreError(f"cannot write in the backup folder {str(folder)!r}: "
                                 f"{exc.strerror or exc}") from exc
            _copy(src, partial, busy_timeout_ms=busy_timeout_ms)
    except sqlite3.Error as exc:
        _remove_quietly(partial)
        raise _sqlite_error(database, exc, "cannot back up the database") from exc
    try:
        try:
            with closing(_connect(partial, busy_timeout_ms=busy_timeout_ms, mode="ro")) as check:
                problems = integrity(check)
                revision = revision_of(check)
        except sqlite3.Error as exc:
            raise _sqlite_error(partial, exc, "cannot check the backup") from exc
        if problems != ["ok"]:
            raise StoreError(f"the backup failed its integrity check ({'; '.join(problems[:3])}); "
                             "nothing kept")
        if revision != source_revision:
            raise StoreError(f"the backup has schema revision {revision!r}, the database "
                             f"{source_revision!r}; nothing kept")
        if final.exists():
            raise Refused(f"{final} already exists: one backup per second (nothing written)")
        os.replace(partial, final)
    finally:
        _remove_quietly(partial)
    size = final.stat().st_size
    pruned, kept = prune(folder, keep, newest=final)
    return BackupResult(path=final, size=size, revision=revision, pruned=pruned, kept=kept)


def backups_in(folder: Path) -> list[Path]:
    """The backups in a folder (insurtrack-<stamp>.db only), newest first."""
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if BACKUP_NAME.match(p.name) and p.is_file()),
                  key=lambda p: p.name, reverse=True)


def prune(folder: Path, keep: int, *, newest: Path | None = None) -> tuple[list[Path], int]:
    """Delete all but the `keep` newest backups (by the stamp in their name); `newest`, the one just
    made, is always kept. Returns (deleted, how many are kept)."""
    found = backups_in(folder)
    keep_set = set(found[:keep])
    if newest is not None and newest not in keep_set:
        keep_set = {newest, *found[:keep - 1]}
    pruned = []
    for p in found:
        if p in keep_set:
            continue
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"cannot delete the old backup {str(p)!r}: "
                             f"{exc.strerror or exc}") from exc
        pruned.append(p)
    return pruned, len(keep_set)


# ------------------------------------------------------------------ who may

def authorise(database: Path, action: str, acting: tuple[str, str],
              real: tuple[str, str] | None = None, *, staged: Path | None = None,
              busy_timeout_ms: int = 10000) -> None:
    """Backups and restores are the manager's (services/permissions.py: store.backup,
    store.restore). Who acts is looked up in the database's staff table through a raw read-only
    connection (neither command opens the store through the ORM); when restoring over a database
    that is missing, damaged or has no staff yet, in the staged backup's. `acting`: (login,
    where it came from); `real`: the person at the keyboard when --as names someone else — they
    must be a manager too. A missing database to back up is left for backup() to report."""
    from types import SimpleNamespace

    from insurtrack.errors import NotPermitted
    from insurtrack.services.permissions import require, require_delegation

    def staff_of(path: Path) -> dict[str, SimpleNamespace] | None:
        if not path.is_file():
            return None
        try:
            with closing(_connect(path, busy_timeout_ms=busy_timeout_ms, mode="ro")) as conn:
                rows = conn.execute("SELECT id, code, department, active FROM staff").fetchall()
        except sqlite3.Error as exc:
            if staged is None:
                raise StoreError(f"cannot read the staff of {str(path)!r} ({exc}), so nobody "
                                 f"may {action} it") from exc
            return None
        return {code: SimpleNamespace(id=i, code=code, department=dept, active=bool(active))
                for i, code, dept, active in rows} or None

    people = staff_of(database)
    if people is None and staged is not None:
        people = staff_of(staged)
    if people is None:
        if staged is None:
            return  # nothing to back up: backup() says so (exit 7)
        raise NotPermitted(f"no staff are registered in {database} or in the backup: nobody "
                           f"may {action}")
    code, source = acting
    person = people.get(code)
    if person is None:
        raise NotPermitted(f"unknown person {code!r} (from {source}); staff are listed by "
                           "`insurtrack staff list`; act as one with --as or INSURTRACK_USER")
    if not person.active:
        raise NotPermitted(f"{code!r} (from {source}) is deactivated and cannot make changes")
    if real is not None:
        require_delegation(person, real[0], real[1], people.get)
    require(person, f"store.{action}")


# ------------------------------------------------------------------ restore

@contextmanager
def staged(file: Path, *, busy_timeout_ms: int = 10000) -> Iterator[Staged]:
    """Copy FILE into a private temporary folder (read-only on FILE) and check it there:
    integrity, an insurtrack database, a schema this code knows. Raises BadInput (exit 2) for a
    missing, unreadable or damaged file and Refused (exit 4) for a foreign or newer one; the
    temporary copy is removed when the block ends."""
    from insurtrack import db

    source = file.expanduser().resolve()
    if not source.is_file():
        raise BadInput("FILE", str(file), "no such file")
    with tempfile.TemporaryDirectory(prefix="insurtrack-restore-") as tmp:
        os.chmod(tmp, DIR_MODE)
        copy = Path(tmp) / "restore.db"
        _create_private(copy)
        try:
            # A copy of a WAL database without its -wal file is read as it is; with one, the
            # -wal is read too.
            quiet = not Path(f"{source}-wal").exists()
            with closing(_connect(source, busy_timeout_ms=busy_timeout_ms, mode="ro",
                                  immutable=quiet)) as src:
                _copy(src, copy, busy_timeout_ms=busy_timeout_ms)
            with closing(_connect(copy, busy_timeout_ms=busy_timeout_ms, mode="ro")) as check:
                problems = integrity(check)
                revision = revision_of(check) if problems == ["ok"] else None
        except sqlite3.Error as exc:
            raise BadInput("FILE", str(file), f"is not a readable SQLite database ({exc}); "
                                              "nothing restored") from exc
        if problems != ["ok"]:
            raise BadInput("FILE", str(file), "failed the integrity check "
                                              f"({'; '.join(problems[:3])}); nothing restored")
        if revision is None:
            raise Refused(f"{file} is not an insurtrack database (no alembic_version table); "
                          "nothing restored")
        known = known_revisions()
        if revision not in known:
            raise Refused(f"{file} has schema revision {revision!r}, which this insurtrack does "
                          f"not know (it knows up to {db.SCHEMA_HEAD}): a newer version or another "
                          "application made it; nothing restored")
        yield Staged(source=source, path=copy, revision=revision)


def restore(url: str, ready: Staged, *, now: datetime,
            busy_timeout_ms: int = 10000) -> RestoreResult:
    """Replace the live database with a staged file: a safety backup of the current database
    first (backups/pre-restore-<stamp>.db, never pruned), then the online backup API copies the
    staged file INTO the live database through a connection (its WAL and readers stay
    consistent), then the schema is upgraded to this code's head if the file was older."""
    from insurtrack import db

    database = sqlite_path(url, now=now, action="restore")
    if database == ready.source:
        raise Refused(f"{ready.source} is the database itself: nothing to restore")
    if not database.parent.is_dir():
        raise StoreError(f"folder {str(database.parent)!r} does not exist")

    safety = None
    if database.is_file() and database.stat().st_size > 0:
        folder = backup_dir(database, None)
        safety = folder / f"{SAFETY_PREFIX}{stamp(now)}.db"
        if safety.exists():
            raise Refused(f"the safety backup {safety} already exists: one restore per second "
                          "(nothing changed)")
        _private_dir(folder)
        _create_private(safety)
        try:
            with closing(_connect(database, busy_timeout_ms=busy_timeout_ms)) as live:
                _copy(live, safety, busy_timeout_ms=busy_timeout_ms)
        except sqlite3.Error as exc:
            _remove_quietly(safety)
            raise StoreError(f"cannot make the safety backup of {str(database)!r} ({exc}); nothing "
                             "changed — move the damaged file away and restore again") from exc
    elif not database.exists():
        _create_private(database)

    try:
        with closing(_connect(ready.path, busy_timeout_ms=busy_timeout_ms, mode="ro")) as src, \
                closing(_connect(database, busy_timeout_ms=busy_timeout_ms)) as live:
            src.backup(live)  # into the live file, through its pager: WAL and readers stay right
            problems = integrity(live)
    except sqlite3.Error as exc:
        where = f"; the previous database is in {safety}" if safety else ""
        raise StoreError(f"cannot restore into {str(database)!r}: {exc}{where}") from exc
    if problems != ["ok"]:
        raise StoreError(f"the restored database failed its integrity check "
                         f"({'; '.join(problems[:3])}); the previous one is in {safety}")

    engine = db.make_engine(f"sqlite:///{database}", busy_timeout_ms=busy_timeout_ms)
    try:
        db.ensure_schema(engine)
        schema = db.current_revision(engine)
    finally:
        engine.dispose()
    return RestoreResult(database=database, source=ready.source, revision=ready.revision,
                         schema=schema or "", safety_backup=safety)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"
