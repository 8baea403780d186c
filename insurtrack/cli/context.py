"""AppContext: everything a command needs, built once per run and kept in ctx.obj.

Settings, the engine and the acting person are resolved lazily, so `--help`, `init` and
`config check` never touch the database and never fail on a broken config they are about to fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from insurtrack.cli.options import OutputFormat
from insurtrack.clock import Clock, from_env

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from insurtrack.cli.output import Output
    from insurtrack.config import Settings
    from insurtrack.services.base import Work
    from insurtrack.services.reader import Reader


@dataclass
class Overrides:
    """What a test may inject: `CliRunner().invoke(app, args, obj=Overrides(clock=...))`."""

    clock: Clock | None = None


class AppContext:
    def __init__(self, *, config_flag: str | None, db_flag: str | None, as_flag: str | None,
                 clock: Clock, env: Mapping[str, str]) -> None:
        self.config_flag = config_flag
        self.db_flag = db_flag
        self.as_flag = as_flag
        self.clock = clock
        self.env = env
        self._settings: Settings | None = None
        self._engine: Engine | None = None
        self._url: str | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from insurtrack import config

            self._settings = config.load(self.config_flag, self.env)
        return self._settings

    @property
    def url(self) -> str:
        """The database: --db > INSURTRACK_DB > database.url > the default file."""
        if self._url is None:
            from insurtrack.store import resolve_url

            self._url = resolve_url(self.db_flag, self.env, self.settings["database.url"])
        return self._url

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from insurtrack import db

            engine = db.make_engine(self.url,
                                    busy_timeout_ms=self.settings["database.busy_timeout_ms"])
            db.ensure_schema(engine)
            self._engine = engine
        return self._engine

    @property
    def writes_committed(self) -> int:
        """Writing transactions this run has committed (0: the store is as it found it)."""
        if self._engine is None:
            return 0
        from insurtrack import db

        return db.writes_committed(self._engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def output(self, fmt: OutputFormat | str = OutputFormat.TABLE, *, excel: bool = False) -> Output:
        from insurtrack.cli.output import Output

        return Output(fmt, tz=self.settings.timezone, excel=excel)

    def today(self):
        """Today's date where the office is (the configured timezone)."""
        return self.clock.now().astimezone(self.settings.timezone).date()

    def actor_code(self) -> tuple[str, str]:
        """Who acts, and where that came from: --as > INSURTRACK_USER > config > login name."""
        if self.as_flag:
            return self.as_flag.strip(), "--as"
        return self.real_user()

    def real_user(self) -> tuple[str, str]:
        """Who is at the keyboard, whatever --as says: INSURTRACK_USER > config > login name.
        Acting as someone else (--as) needs this person to be a manager."""
        from insurtrack.config import ENV_USER

        if self.env.get(ENV_USER):
            return self.env[ENV_USER].strip(), "INSURTRACK_USER"
        if self.settings["user.name"]:
            return self.settings["user.name"].strip(), f"user.name in {self.settings.path}"
        import getpass

        try:
            return getpass.getuser(), "the login name"
        except (KeyError, OSError):
            return "", "the login name"

    @contextmanager
    def work(self, *, allow_bootstrap: bool = False) -> Iterator[Work]:
        """A writing transaction with the acting person resolved; committed when the block ends,
        rolled back (nothing written) if anything in it fails."""
        from insurtrack import db
        from insurtrack.services.base import Work

        with db.write(self.engine) as session:
            actor = self._actor(session, allow_bootstrap)
            yield Work(session=session, actor=actor, clock=self.clock, settings=self.settings)

    @contextmanager
    def reading(self) -> Iterator[Work]:
        """A read-only transaction with the acting person resolved."""
        from insurtrack import db
        from insurtrack.services.base import Work

        with db.read(self.engine) as session:
            actor = self._actor(session, False)
            yield Work(session=session, actor=actor, clock=self.clock, settings=self.settings)

    @contextmanager
    def peek(self) -> Iterator[Reader]:
        """A read-only transaction without the ORM: for the paths run most (the `due` board),
        which read through sla/board.py. On a SQLite file at the schema head, through the
        standard library's driver, without importing SQLAlchemy (store.lite_read); otherwise on
        a Core connection of the engine (which first creates or upgrades the schema)."""
        from insurtrack import store

        if self._engine is None:
            with store.lite_read(self.url, self.settings["database.busy_timeout_ms"]) as lite:
                if lite is not None:
                    yield self._reader(lite)
                    return
        with self.engine.connect() as conn, conn.begin():
            yield self._reader(conn)

    def _reader(self, conn: Any) -> Reader:
        from insurtrack.services.reader import Reader, resolve_actor

        actor = resolve_actor(conn, *self.actor_code())
        if self.as_flag:   # --as someone else: the person at the keyboard is a manager
            from insurtrack.services.permissions import require_delegation
            from insurtrack.services.reader import staff_member

            real, real_source = self.real_user()
            require_delegation(actor, real.strip(), real_source,
                               lambda code: staff_member(conn, code))
        return Reader(session=conn, actor=actor, clock=self.clock, settings=self.settings)

    def _actor(self, session, allow_bootstrap: bool) -> Any:
        from sqlalchemy import func, select

        from insurtrack.domain.models import Staff
        from insurtrack.services.base import resolve_actor

        if allow_bootstrap and session.execute(select(func.count()).select_from(Staff)).scalar_one() == 0:
            return None  # the very first staff member registers themselves
        code, source = self.actor_code()
        actor = resolve_actor(session, code, source)
        if self.as_flag:
            from insurtrack.services.permissions import require_delegation

            real, real_source = self.real_user()
            require_delegation(actor, real.strip(), real_source, lambda c: session.execute(
                select(Staff).where(Staff.code == c)).scalar_one_or_none())
        return actor


def app_context(ctx: typer.Context) -> AppContext:
    """The run's AppContext. First, every value typed on the command line (this command's and
    its groups') is checked for what no field may hold — a NUL byte, or bytes that are not
    UTF-8 — so no such value reaches a parser, a query or the terminal."""
    refuse_unreadable(ctx)
    return ctx.find_root().obj


def refuse_unreadable(ctx: typer.Context) -> None:
    from insurtrack.cli.options import shown, unreadable
    from insurtrack.errors import BadInput

    level = ctx
    while level is not None:
        for param in level.command.params:
            value = level.params.get(param.name)
            for item in value if isinstance(value, (list, tuple)) else (value,):
                why = unreadable(item) if isinstance(item, str) else None
                if why:
                    name = param.opts[0] if param.param_type_name == "option" \
                        else (param.name or "argument").upper()
                    raise BadInput(name, shown(item), why)
        level = level.parent


def make_context(ctx: typer.Context, *, config_flag: str | None, db_flag: str | None,
                 as_flag: str | None) -> AppContext:
    overrides = ctx.obj if isinstance(ctx.obj, Overrides) else Overrides()
    app = AppContext(config_flag=config_flag, db_flag=db_flag, as_flag=as_flag,
                     clock=overrides.clock or from_env(os.environ), env=os.environ)
    ctx.call_on_close(app.close)
    return app
