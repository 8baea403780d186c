"""`insurtrack export` (raw records as csv or json, streamed) and `insurtrack import` (customers,
policies and payments from spreadsheets' CSV files, checked row by row, all or nothing).

Only typer and light modules are imported here: the queries, the ORM and rich's progress bar are
loaded inside the commands, so `--help` and shell completion stay fast (tests/cli/test_startup.py).
The column lists shown in --help come from insurtrack/reports/export.py and importer.py, whose
top levels are light too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import OutputFormat, day
from insurtrack.domain.states import StrEnum
from insurtrack.errors import BadInput
from insurtrack.reports import export as spec
from insurtrack.reports import importer as columns

export_app = typer.Typer(
    help="Raw records as CSV (UTF-8; --excel adds the byte-order mark Excel needs for Chinese "
         "text) or JSON, streamed in flat memory: every foreign key as a code or staff login; "
         "cells starting with = + - @ neutralised with a leading ' against formula injection.",
    no_args_is_help=True,
)
import_app = typer.Typer(
    help="Bring a book over from spreadsheets: customers, then policies, then payments, as UTF-8 "
         "CSV files. Every row is checked first (FILE:LINE:COLUMN: message); nothing is written "
         "if any row is bad, unless --skip-bad. Columns: docs/import.md and each command's --help.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


FormatOpt = Annotated[ExportFormat, typer.Option(
    "--format", "-f", help="csv (one row per record) or json (an array of objects).",
    case_sensitive=False)]
ExcelOpt = Annotated[bool, typer.Option(
    "--excel", help="With csv: start with a byte-order mark so Excel shows Chinese text right.")]
FromOpt = Annotated[Optional[str], typer.Option(
    "--from", help="Only records whose date (see above) is on or after this day (YYYY-MM-DD).")]
ToOpt = Annotated[Optional[str], typer.Option(
    "--to", help="Only records whose date (see above) is on or before this day (YYYY-MM-DD).")]

FileArg = Annotated[str, typer.Argument(help="The CSV file (UTF-8, with or without a BOM; the "
                                             "first line names the columns).")]
MapOpt = Annotated[Optional[list[str]], typer.Option(
    "--map", help="Read a header of yours as one of our columns: 'THEIR HEADER=column', e.g. "
                  "'Kunde=customer'. Repeatable.")]
SkipOpt = Annotated[Optional[str], typer.Option(
    "--skip-bad", help="Import the good rows and write the bad ones to this CSV file, with an "
                       "added error column saying why (fixed, it imports as it is).")]
DryOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Check every row and report; write nothing to the book (a --skip-bad "
                      "file is still written).")]


# -- export ----------------------------------------------------------------------------------------

def _export(ctx: typer.Context, kind: str, fmt: ExportFormat, excel: bool, start: Optional[str],
            end: Optional[str], reveal: bool = False) -> None:
    from insurtrack.reports import export

    a = app_context(ctx)
    first, last = day("--from", start), day("--to", end)
    if first and last and first > last:
        raise BadInput("--from", first.isoformat(), f"is after --to ({last.isoformat()})")
    if excel and fmt is not ExportFormat.CSV:
        raise BadInput("--excel", None, "goes with --format csv")
    out = a.output(OutputFormat(fmt.value), excel=excel)
    tz = a.settings.timezone
    if reveal:  # recorded before anything is read: no reveal goes unrecorded
        from insurtrack.services import customers

        with a.work() as w:
            w.require("book.export")
            customers.revealed(w, command=f"export {kind}",
                               count=export.count(w.session, kind, start=first, end=last, tz=tz))
    from insurtrack.store import sqlite_file

    if sqlite_file(a.url) is not None:  # a SQLite file: read without the ORM (store.lite_read)
        from insurtrack.services.permissions import require

        with a.peek() as r:
            require(r.actor, "book.export")
            blocks = export.in_sql(r.session, kind, start=first, end=last, tz=tz,
                                   mask=not reveal, render=out.sql_render())
            if blocks is not None:  # rows rendered by SQLite, a block at a time
                try:
                    out.stream_blocks(export.COLUMNS[kind], blocks)
                finally:
                    blocks.close()  # its threads and connections
                return
    with a.reading() as w:  # PostgreSQL, or a SQLite book that is not a file
        w.require("book.export")
        fast = export.stored(w.session, kind, start=first, end=last, tz=tz, mask=not reveal)
        if fast is not None:  # SQLite: stored values, rendered a batch at a time
            kinds, at, batches = fast
            try:
                out.stream(export.COLUMNS[kind], kinds, batches, at)
            finally:
                batches.close()  # its cursor, while the transaction is open
            return
        rows = export.rows(w.session, kind, start=first, end=last, tz=tz,
                           payload_as_text=fmt is ExportFormat.CSV, mask=not reveal)
        out.rows(rows, export.COLUMNS[kind])


_ONE = {"customers": "customer", "applications": "application (plan)", "policies": "policy",
        "installments": "premium installment", "payments": "premium payment", "claims": "claim",
        "revisits": "revisit", "feedback": "feedback item", "events": "event of the log",
        "followups": "follow-up (SLA clock, task, manual or rectification item)"}


ExportRevealOpt = Annotated[bool, typer.Option(
    "--reveal", help="Write ID and phone numbers in full, not masked (needed to import the file "
                     "again); recorded as an event with the number of records.")]


def _export_command(kind: str) -> None:
    def command(ctx: typer.Context, fmt: FormatOpt = ExportFormat.CSV, excel: ExcelOpt = False,
                start: FromOpt = None, end: ToOpt = None, reveal: ExportRevealOpt = False) -> None:
        _export(ctx, kind, fmt, excel, start, end, reveal)

    help_text = (f"Every {_ONE[kind]}, oldest first. "
                 f"--from/--to select by {spec.PERIOD_OF[kind]}, local dates, both included; "
                 f"default: all. Columns: {', '.join(spec.COLUMNS[kind])}. ID and phone numbers "
                 "are masked unless --reveal (import refuses masked ones).")
    export_app.command(kind, help=help_text)(command)


for _kind in spec.KINDS:
    _export_command(_kind)


# -- import ----------------------------------------------------------------------------------------

@contextmanager
def _progress() -> Iterator[Optional[Callable[[str, int, int], None]]]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _show(a, file: str, problems) -> None:
    out = a.output()
    for p in problems[:columns.SHOW_AT_MOST]:
        out.message(p.show(file))
    if len(problems) > columns.SHOW_AT_MOST:
        out.message(f"… and {len(problems) - columns.SHOW_AT_MOST} more problem(s)")


def _import(ctx: typer.Context, kind: str, file: str, maps: Optional[list[str]],
            skip_bad: Optional[str], dry_run: bool, slow: bool = False) -> None:
    from insurtrack.reports import importer

    a = app_context(ctx)
    mapping = importer.parse_maps(maps)
    path = Path(file)
    if not path.is_file():
        raise BadInput("FILE", file, "is not a file")
    if skip_bad is not None:
        if Path(skip_bad).resolve() == path.resolve():
            raise BadInput("--skip-bad", skip_bad, "is the file being imported; name another file")
        if not Path(skip_bad).resolve().parent.is_dir():
            raise BadInput("--skip-bad", skip_bad, "is in a folder that does not exist")
    written = importer.Written()
    try:
        with _progress() as progress, (a.reading() if dry_run else a.work()) as w:
            plan = importer.check(w, kind, str(path), file=file, mapping=mapping,
                                  progress=progress)
            try:
                if plan.rejected and skip_bad is None:
                    n = len(plan.rejected)
                    raise importer.BadFile(file, plan.problems, (
                        f"{n} row(s) of {file} are bad; nothing was imported (fix them, or "
                        "import the other rows with --skip-bad REJECTS.csv)"))
                if not dry_run:
                    written = importer.write(w, plan, slow=slow, progress=progress)
            finally:
                plan.close()
    except importer.BadFile as exc:
        _show(a, exc.file, exc.problems)
        raise
    out = a.output()
    if plan.rejected:
        _show(a, file, plan.problems)
    if skip_bad is not None:
        importer.write_rejects(skip_bad, plan)
    what = {"customers": "customer(s)", "policies": "policy(ies)", "payments": "payment(s)"}[kind]
    if dry_run:
        out.message(f"{file}: {plan.count} {what} would be imported; nothing was written "
                    "(--dry-run)")
    else:
        span = ""
        if written.count and kind != "payments":
            span = f": {written.first}" + (f" to {written.last}" if written.count > 1 else "")
        elif written.count:
            span = f" on {written.policies} policy(ies)"
        out.message(f"imported {written.count} {what} from {file}{span}")
    if skip_bad is not None:
        out.message(f"{len(plan.rejected)} row(s) rejected, written with their reasons to "
                    f"{skip_bad}")


SlowOpt = Annotated[bool, typer.Option(
    "--slow", hidden=True, help="Write through the services row by row (the reference the bulk "
                                "writer is tested against).")]


def _import_command(kind: str, intro: str) -> None:
    def command(ctx: typer.Context, file: FileArg, maps: MapOpt = None, skip_bad: SkipOpt = None,
                dry_run: DryOpt = False, slow: SlowOpt = False) -> None:
        _import(ctx, kind, file, maps, skip_bad, dry_run, slow)

    lines = "\n".join(f"  {c.name}{' (required)' if c.required else ''}: {c.help}"
                      for c in columns.COLUMNS[kind])
    ignored = ", ".join(columns.IGNORED[kind])
    help_text = (f"{intro}\n\n"
                 "Errors read FILE:LINE:COLUMN: message (the header is line 1). Imported records "
                 "get the events and follow-ups the commands give them; their events say "
                 "imported: true and the file.\n\n\b\nColumns (header names, any order, "
                 f"case-insensitive):\n{lines}\n\nIgnored if present (written by export or "
                 f"--skip-bad): {ignored}.")
    import_app.command(kind, help=help_text)(command)


_import_command("customers", "Import customers (T1): one row per customer; each gets "
                             "customer.added (and customer.rated with a rating).")
_import_command("policies", "Import policies of customers already in the book (L5, L6): the "
                            "premium schedule is made as `policy issue` makes it, the paid "
                            "installments are paid (premium.paid, policy.in_force) and an "
                            "in-force policy gets its follow-ups: premium reminders (T7), first "
                            "contact (T5), quarterly revisit (T6), renewal reminder.")
_import_command("payments", "Import premium payments (L5, L6), each allocated to the policy's "
                            "oldest open installments, as `policy pay` does.")
