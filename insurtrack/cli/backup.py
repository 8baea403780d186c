"""`insurtrack backup` and `insurtrack restore`: consistent, private copies of the SQLite store
(D3).

Neither command opens the store through the ORM or upgrades it first: backup copies the database as
it is, restore checks the file before anything is written (services/backup.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import FormatOpt, OutputFormat


def _interactive() -> bool:
    """Someone at a terminal who can answer the confirmation."""
    return sys.stdin.isatty()


def _url(a) -> str:
    from insurtrack import db

    return db.resolve_url(a.db_flag, a.env, a.settings["database.url"])


def _people(a) -> dict:
    """Who acts, and who is at the keyboard when --as names someone (services/backup.authorise)."""
    acting = a.actor_code()
    real = a.real_user() if a.as_flag else None
    return {"acting": acting, "real": (real[0].strip(), real[1]) if real else None}


def backup(
    ctx: typer.Context,
    to: Annotated[Optional[Path], typer.Option(
        "--to", help="Folder for the backup (created private, 0700, if new). "
                     "Default: a 'backups' folder beside the database file.",
        show_default=False)] = None,
    keep: Annotated[int, typer.Option(
        "--keep", help="Keep this many newest insurtrack-*.db backups in the folder; "
                       "older ones are deleted (no other file is touched).")] = 7,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Copy the database while others keep working (SQLite online backup), check the copy and
    keep the last --keep. PostgreSQL: prints the pg_dump command to use instead (exit 4)."""
    from insurtrack.errors import BadInput
    from insurtrack.services import backup as svc

    a = app_context(ctx)
    if keep < 1:
        raise BadInput("--keep", keep, "must be 1 or more (the backup just made is always kept)")
    url = _url(a)
    svc.authorise(svc.sqlite_path(url, to=to, now=a.clock.now()), "backup", **_people(a),
                  busy_timeout_ms=a.settings["database.busy_timeout_ms"])
    result = svc.backup(url, now=a.clock.now(), to=to, keep=keep,
                        busy_timeout_ms=a.settings["database.busy_timeout_ms"])
    out = a.output(fmt)
    pruned = [str(p) for p in result.pruned]
    out.record({
        "path": str(result.path),
        "size_bytes": result.size,
        "size": svc.human_size(result.size),
        "integrity": "ok",
        "schema": result.revision,
        "kept": result.kept,
        "pruned": pruned if pruned or fmt is not OutputFormat.TABLE else "none",
    }, title="Backup")


def restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A backup made by `insurtrack backup`.",
                                         show_default=False)],
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Replace the database without asking (needed when not on a terminal).")
    ] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Replace the database with a backup: the file is checked first, the current database is
    saved to backups/pre-restore-<time>.db, then the backup is copied in and upgraded if older."""
    from insurtrack.errors import Refused
    from insurtrack.services import backup as svc

    a = app_context(ctx)
    url = _url(a)
    now = a.clock.now()
    database = svc.sqlite_path(url, now=now, action="restore")
    busy = a.settings["database.busy_timeout_ms"]
    with svc.staged(file, busy_timeout_ms=busy) as ready:
        if database == ready.source:
            raise Refused(f"{ready.source} is the database itself: nothing to restore")
        svc.authorise(database, "restore", **_people(a), staged=ready.path, busy_timeout_ms=busy)
        if not yes:
            if not _interactive():
                raise Refused(f"restore replaces the database {database} with {ready.source}; "
                              "add --yes to confirm (nothing changed)")
            question = (f"Replace the database {database} with {ready.source} (schema "
                        f"{ready.revision})? The current one is saved in "
                        f"{svc.backup_dir(database, None)} first.")
            if not typer.confirm(question, default=False, err=True):
                raise Refused("restore not confirmed: nothing changed")
        result = svc.restore(url, ready, now=now, busy_timeout_ms=busy)
    a.output(fmt).record({
        "database": str(result.database),
        "restored_from": str(result.source),
        "file_schema": result.revision,
        "schema": result.schema,
        "safety_backup": str(result.safety_backup) if result.safety_backup else None,
    }, title="Restored")
