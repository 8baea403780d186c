"""Test fixtures: a fresh, migrated store per test (SQLite by default, PostgreSQL when
INSURTRACK_TEST_DATABASE_URL is set), a pinned clock, staff of every department, a unit of work
for service tests and a CLI runner for command tests.

Isolation: SQLite tests each get a copy of a database migrated once per session; PostgreSQL tests
share one migrated database per xdist worker whose tables are emptied before each test.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

from insurtrack import config, db
from insurtrack.cli.app import app
from insurtrack.cli.context import Overrides
from insurtrack.clock import FixedClock
from insurtrack.domain import models as m
from insurtrack.services.base import Work

PG_URL = os.environ.get("INSURTRACK_TEST_DATABASE_URL", "")
# pytest-xdist runs the suite in one process per core: on PostgreSQL each worker has a database of
# its own (the given one's name with the worker's, created when missing); SQLite stores are files
# under each test's own tmp_path anyway.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_PG_SERVER_URL = PG_URL
if PG_URL and WORKER:
    from sqlalchemy.engine import make_url

    _url = make_url(PG_URL)
    PG_URL = _url.set(database=f"{_url.database}_{WORKER}").render_as_string(hide_password=False)
    os.environ["INSURTRACK_TEST_DATABASE_URL"] = PG_URL
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Staff of every department, created by the `staff` fixture: login -> department.
STAFF = {
    "boss": "manager",
    "sally": "sales",
    "sid": "sales",
    "sam": "service",
    "uma": "underwriting",
    "ulf": "underwriting",
    "carl": "claims",
    "cora": "claims",
}


def local(*args: int) -> datetime:
    """A wall-clock time in Shanghai (the default display timezone), as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True, scope="session")
def _worker_database():
    """This xdist worker's PostgreSQL database, created on first use."""
    if PG_URL and PG_URL != _PG_SERVER_URL:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        name = make_url(PG_URL).database
        engine = create_engine(_PG_SERVER_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    yield


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """The holidays cache (sla/calendar.py) of this test session, not the user's."""
    old = os.environ.get("INSURTRACK_CACHE_DIR")
    os.environ["INSURTRACK_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("INSURTRACK_CACHE_DIR", None)
    else:
        os.environ["INSURTRACK_CACHE_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _command_tree_built_once():
    """Typer rebuilds the click command tree from the signatures on every CliRunner.invoke — three
    quarters of an in-process command's time. The tree is static, so build it once per session:
    what runs is the same command tree."""
    import typer.testing

    built: dict[int, object] = {}
    original = typer.testing._get_command

    def get_command(typer_app):
        if id(typer_app) not in built:
            built[id(typer_app)] = original(typer_app)
        return built[id(typer_app)]

    typer.testing._get_command = get_command
    yield
    typer.testing._get_command = original


def pytest_report_header(config):
    return f"insurtrack store under test: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """A database at the schema head: a SQLite file to copy, or the PostgreSQL URL."""
    if PG_URL:
        engine = db.make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.ensure_schema(engine)
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.ensure_schema(engine)
    engine.dispose()
    return path


_EMPTY: list[str] = []


def _emptied(conn) -> str:
    """The statements that empty every table and restart every sequence, as a fresh store has
    them: DELETE in dependency order, not TRUNCATE, which costs ten times as much on tables of a
    test's few rows (TRUNCATE replaces each table's files) — about a minute of the suite."""
    if not _EMPTY:
        tables = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)]
        seqs = conn.execute(text("SELECT sequencename FROM pg_sequences "
                                 "WHERE schemaname = current_schema()")).scalars().all()
        _EMPTY.append("; ".join(tables + [f'ALTER SEQUENCE "{s}" RESTART' for s in seqs]))
    return _EMPTY[0]


@pytest.fixture
def db_url(_template, tmp_path) -> str:
    """A fresh, migrated, empty store for this test."""
    if PG_URL:
        engine = db.make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(_emptied(conn)))
        engine.dispose()
        return PG_URL
    path = tmp_path / "book.db"
    shutil.copy(_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url):
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2 March 2026, 09:00 in Shanghai."""
    return FixedClock(local(2026, 3, 2, 9, 0))


@pytest.fixture
def settings() -> config.Settings:
    return config.Settings(values={s.key: s.default for s in config.SPEC})


@pytest.fixture
def staff(engine, clock, settings) -> dict[str, m.Staff]:
    """One staff member per login in STAFF, created through the service (the first bootstraps)."""
    from insurtrack.domain.states import Department
    from insurtrack.services import staff as svc

    made = {}
    with db.write(engine) as session:
        w = Work(session=session, actor=None, clock=clock, settings=settings)
        for login, dept in STAFF.items():
            made[login] = svc.add(w, code=login, name=login.title(), department=Department(dept),
                                  email=f"{login}@example.com")
    return made


@pytest.fixture
def work(engine, clock, settings, staff):
    """`with work("sally") as w:` — one committed unit of work acting as that staff member."""

    @contextmanager
    def _work(login: str = "boss"):
        with db.write(engine) as session:
            actor = session.execute(select(m.Staff).where(m.Staff.code == login)).scalar_one()
            yield Work(session=session, actor=actor, clock=clock, settings=settings)

    return _work


def row_counts(engine) -> dict[str, int]:
    """Rows in every table: compare before and after a refused command to prove nothing changed."""
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, for byte-for-byte 'nothing changed' checks."""
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
                for t in SQLModel.metadata.sorted_tables}


@dataclass
class Cli:
    """Runs insurtrack in-process like a user would, against the test's store and clock."""

    db_url: str
    config_path: str
    clock: FixedClock
    engine: object

    def __call__(self, *args: str, as_: str | None = "boss", env: dict | None = None):
        """`as_`: --as LOGIN. The person at the keyboard (INSURTRACK_USER) is the manager boss
        unless `env` says otherwise: acting as someone else needs a manager (issue 6)."""
        argv = ([] if as_ is None else ["--as", as_]) + [str(a) for a in args]
        full_env = {"INSURTRACK_DB": self.db_url, "INSURTRACK_CONFIG": self.config_path,
                    "INSURTRACK_USER": "boss", "NO_COLOR": "1"}
        full_env.update(env or {})
        return CliRunner(env=full_env).invoke(app, argv, obj=Overrides(clock=self.clock))

    def ok(self, *args: str, **kw):
        """Run; assert exit 0; return the result (result.stdout / result.stderr)."""
        result = self(*args, **kw)
        assert result.exit_code == 0, (
            f"insurtrack {' '.join(map(str, args))} exited {result.exit_code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}")
        return result

    def json(self, *args: str, **kw):
        import json

        return json.loads(self.ok(*args, "--format", "json", **kw).stdout)

    def fails(self, exit_code: int, *args: str, expect: str | None = None, **kw):
        """Run; assert this exit code, a message on stderr (with `expect` in it), no traceback,
        and that no row of the store changed."""
        before = snapshot(self.engine)
        result = self(*args, **kw)
        assert result.exit_code == exit_code, (
            f"insurtrack {' '.join(map(str, args))}: expected exit {exit_code}, got "
            f"{result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}\n"
            f"{result.exception!r}")
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"unexpected exception {result.exception!r}"
        assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
        assert result.stderr.strip(), "a refused command must say why on stderr"
        if expect is not None:
            assert expect in result.stderr, f"{expect!r} not in stderr: {result.stderr}"
        assert snapshot(self.engine) == before, "a refused command must change nothing"
        return result


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(config.render_example(), encoding="utf-8")
    return path


@pytest.fixture
def cli(db_url, config_file, clock, engine, staff) -> Cli:
    """The CLI against this test's store, with STAFF registered and the clock pinned."""
    return Cli(db_url=db_url, config_path=str(config_file), clock=clock, engine=engine)


@pytest.fixture
def bare_cli(db_url, config_file, clock, engine) -> Cli:
    """The CLI against an empty store (no staff yet)."""
    return Cli(db_url=db_url, config_path=str(config_file), clock=clock, engine=engine)
