"""The root command: the one place errors become exit codes. Its commands are listed in
cli/commands.py and loaded on demand.

Command modules import only typer and light helpers at module level, and only the command being
run is loaded, so `insurtrack --help` and shell completion never load the ORM (checked by
tests/cli/test_startup.py).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from insurtrack import __version__
from insurtrack.cli.commands import COMMANDS
from insurtrack.errors import InsurtrackError, StoreError


# A transaction PostgreSQL aborted so that another could go on — a deadlock, or a serialization
# failure (with default_transaction_isolation set to repeatable read or serializable) — succeeds
# when run again from the start. The command is, up to this many times in all.
ATTEMPTS = 5
RETRYABLE = {"40001": "serialization failure", "40P01": "deadlock"}  # SQLSTATEs


class InsurtrackGroup(TyperGroup):
    """The root group. Translates domain errors into a one-line message on stderr and their exit
    code, and runs a command again when the database aborted its transaction as a deadlock or
    serialization failure and it had committed nothing yet: the one place such retries happen.

    Its commands are those of cli/commands.py, each loaded (module imported, parameters built)
    only when it is asked for by name; the listing in `--help` and completion of the first word
    come from the table alone."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(_load(cmd_name, self), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = self._summaries(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """The first word completes from the table, with its summary, loading no command (Tab
        runs the program each time); options as Click completes them."""
        try:
            from typer.core import CompletionItem
        except ImportError:  # pragma: no cover - a typer laid out otherwise: load them
            return super().shell_complete(ctx, incomplete)
        names = [CompletionItem(name, help=summary) for name, summary in self._summaries(ctx)
                 if name.startswith(incomplete)]
        return names + super(TyperGroup, self).shell_complete(ctx, incomplete)

    def _summaries(self, ctx: Any) -> list[tuple[str, str]]:
        """(name, one-line help) of every visible command, from the table where not loaded."""
        return [(name, COMMANDS[name][2] if name in COMMANDS and name not in self.commands
                 else self.commands[name].get_short_help_str())
                for name in self.list_commands(ctx)
                if name in COMMANDS or not self.commands[name].hidden]

    def invoke(self, ctx: Any):
        start = (list(ctx._protected_args), list(ctx.args), ctx.obj)
        attempt = 1
        while True:
            try:
                return super().invoke(ctx)
            except InsurtrackError as exc:
                _fail(exc)
            except Exception as exc:  # database trouble a user can meet: locked, unreachable
                if _retryable(exc) and attempt < ATTEMPTS and _nothing_committed(ctx.obj):
                    # The whole unit of work again, from a fresh context (re-reading what it
                    # decided on): the aborted transaction wrote nothing, so nothing is doubled.
                    if ctx.obj is not start[2] and hasattr(ctx.obj, "close"):
                        ctx.obj.close()
                    ctx._protected_args, ctx.args, ctx.obj = list(start[0]), list(start[1]), start[2]
                    _pause(attempt)
                    attempt += 1
                    continue
                store = _store_error(exc, attempt)
                if store is None:
                    raise
                _fail(store)


def _load(name: str, root: TyperGroup) -> Any:
    """Build the click command for a top-level command of cli/commands.py, as Typer would have
    built it mounted under the root (same help rendering and exception settings)."""
    import importlib

    import typer.main
    from typer.models import CommandInfo, TyperInfo

    module, attr, summary = COMMANDS[name]
    target = getattr(importlib.import_module(module), attr)
    settings = {"pretty_exceptions_short": app.pretty_exceptions_short,
                "rich_markup_mode": root.rich_markup_mode}
    if isinstance(target, typer.Typer):
        command = typer.main.get_group_from_info(
            TyperInfo(target, name=name), suggest_commands=True, **settings)
    else:
        command = typer.main.get_command_from_info(
            CommandInfo(name=name, callback=target,
                        help=None if target.__doc__ else summary), **settings)
    command.short_help = summary
    return command


def _fail(exc: InsurtrackError):
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


def _sqlstate(exc: Exception) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _retryable(exc: Exception) -> bool:
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    return (sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.DBAPIError)
            and _sqlstate(exc) in RETRYABLE)


def _nothing_committed(app: object) -> bool:
    """True when this run has committed no writing transaction (or never opened the store)."""
    return getattr(app, "writes_committed", 0) == 0


def _pause(attempt: int) -> None:
    """A short random wait before the next attempt, growing with each, so that the transactions
    that collided do not collide again."""
    import random
    import time

    time.sleep(random.uniform(0.01, 0.05 * 2 ** attempt))


def _store_error(exc: Exception, attempts: int = 1) -> StoreError | None:
    """Database trouble (locked, unreachable, disk full) as a StoreError; None for anything else.
    SQLAlchemy is only consulted when it was loaded, so `--help` stays light."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None:
        return None
    if _retryable(exc):
        tried = f" (tried {attempts} time{'s' if attempts > 1 else ''})"
        first_line = (str(exc.orig).strip().splitlines() or [""])[0]  # not PostgreSQL's DETAIL
        return StoreError(f"database error: {RETRYABLE[_sqlstate(exc)]}{tried}: {first_line}")
    if isinstance(exc, sqlalchemy_exc.OperationalError):
        if "database is locked" in str(exc.orig):  # SQLite: waited database.busy_timeout_ms
            return StoreError("database error: database is locked: other writers kept it busy "
                              "for longer than database.busy_timeout_ms; try again")
        return StoreError(f"database error: {exc.orig}")
    return None


app = typer.Typer(
    name="insurtrack",
    cls=InsurtrackGroup,
    help="Follow every insurance customer from the first conversation to the last claim, "
         "and never miss a deadline.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"insurtrack {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option(
        "--db", help="Database: a SQLite file path or a SQLAlchemy URL "
                     "(sqlite:///…, postgresql+psycopg://…). Default: $INSURTRACK_DB, then "
                     "database.url in the config, then a file in your data directory.",
        show_default=False)] = None,
    config: Annotated[Optional[str], typer.Option(
        "--config", help="Config file. Default: $INSURTRACK_CONFIG, then config.toml in your "
                         "config directory (`insurtrack config path`).", show_default=False)] = None,
    as_: Annotated[Optional[str], typer.Option(
        "--as", help="Act as this staff member (login code). Default: $INSURTRACK_USER, then "
                     "user.name in the config, then your login name.", show_default=False)] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    from insurtrack.cli.context import make_context  # not needed for --help and completion

    ctx.obj = make_context(ctx, config_flag=config, db_flag=db, as_flag=as_)


# The commands are mounted lazily from cli/commands.py (InsurtrackGroup).


def main() -> None:
    """Console entry point: unexpected errors become a short message, not a traceback."""
    if "export" in sys.argv[1:]:  # before any connection: SQLite threads that do not queue
        from insurtrack.sqlitelib import unshare_allocator

        unshare_allocator()
    try:
        app(prog_name="insurtrack")  # also as `python -m insurtrack` (completion keys on it)
    except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("INSURTRACK_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in insurtrack; run again with INSURTRACK_DEBUG=1 for details.",
              file=sys.stderr)
        sys.exit(1)
