"""The root command. Sub-groups are mounted here; this is the one place errors become exit codes.

Command modules import only typer and light helpers at module level, so `insurtrack --help` and
shell completion never load the ORM (checked by tests/cli/test_startup.py).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import click
import typer
from typer.core import TyperGroup

from insurtrack import __version__
from insurtrack.cli import (
    apply,
    backup,
    claim,
    config_cmd,
    customer,
    due,
    policy,
    renew,
    report,
    revisit,
    staff,
    transfer,
    underwrite,
)
from insurtrack.cli import audit as audit_cli, verify as verify_cli
from insurtrack.cli.context import make_context
from insurtrack.errors import InsurtrackError, StoreError


# A transaction PostgreSQL aborted so that another could go on — a deadlock, or a serialization
# failure (with default_transaction_isolation set to repeatable read or serializable) — succeeds
# when run again from the start. The command is, up to this many times in all.
ATTEMPTS = 5
RETRYABLE = {"40001": "serialization failure", "40P01": "deadlock"}  # SQLSTATEs


class InsurtrackGroup(TyperGroup):
    """Translates domain errors into a one-line message on stderr and their exit code, and runs a
    command again when the database aborted its transaction as a deadlock or serialization
    failure and it had committed nothing yet: the one place such retries happen."""

    def invoke(self, ctx: click.Context):
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


def _fail(exc: InsurtrackError):
    click.echo(f"error: {exc.message}", err=True)
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
    ctx.obj = make_context(ctx, config_flag=config, db_flag=db, as_flag=as_)


app.command("init", help="Write a starter config file (every key at its default, documented).")(
    config_cmd.init)
app.add_typer(config_cmd.app, name="config")
app.add_typer(staff.app, name="staff")
app.add_typer(customer.app, name="customer")
app.add_typer(apply.app, name="apply")
app.add_typer(underwrite.app, name="underwrite")
app.add_typer(policy.app, name="policy")
app.add_typer(renew.app, name="renew")
app.add_typer(claim.app, name="claim")
app.add_typer(revisit.app, name="revisit")
app.add_typer(report.app, name="report")
app.add_typer(due.app, name="due")
app.add_typer(transfer.export_app, name="export")
app.add_typer(transfer.import_app, name="import")
app.add_typer(verify_cli.app, name="verify")
app.add_typer(audit_cli.app, name="audit")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def main() -> None:
    """Console entry point: unexpected errors become a short message, not a traceback."""
    try:
        app()
    except Exception as exc:  # a bug: say so plainly, keep the traceback for those who ask
        if os.environ.get("INSURTRACK_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in insurtrack; run again with INSURTRACK_DEBUG=1 for details.",
              file=sys.stderr)
        sys.exit(1)
