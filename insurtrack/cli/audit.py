"""`insurtrack audit`: a record's history from the audit trail, and the check of the trail's
hash chain (issue 6.3)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import FormatOpt, LimitOpt, OutputFormat, text_value

EXIT_BROKEN = 10  # `audit verify`: the chain is broken (entries edited, deleted, inserted, moved)

app = typer.Typer(
    help="The audit trail: every change, who made it and when, before and after, chained by "
         "hash. `audit log CODE` shows a record's history; `audit verify` checks the chain.\n\n"
         f"Exit codes: 0 ok (chain intact); {EXIT_BROKEN} `audit verify` found the chain "
         "broken; 3 no entry names the code; 2, 5-7 as for every command.",
    no_args_is_help=True,
)


@app.command("log")
def log(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="A record's code (C-…, A-…, P-…, CL-…, R-…, F-…) or a "
                                             "staff login.")],
    all_: Annotated[bool, typer.Option("--all", help="Also the record's events and follow-ups "
                                                     "(the timeline and the clocks).")] = False,
    limit: LimitOpt = 0,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """A record's history, oldest first: who, when, what action, each changed field before and
    after (its lines, installments, payments, documents… under the same code)."""
    from insurtrack import audit

    a = app_context(ctx)
    with a.reading() as w:
        rows = audit.log(w.session, code, limit=limit, tables_excluded=() if all_ else
                         audit.TIMELINE_TABLES)
    a.output(fmt).rows(rows, audit.LOG_COLUMNS, title=f"Audit log of {code.strip().upper()}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    head: Annotated[Optional[str], typer.Option(
        "--head", help="A head hash noted from an earlier `audit verify` (kept outside the "
                       "database): the chain must still pass through it, which a chain "
                       "rewritten before that point with recomputed hashes does not.",
        show_default=False)] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Walk the whole chain (streaming) and report every edited, deleted, inserted or reordered
    entry. Exit 0 and "chain intact: N entries" when intact; exit 10 when broken."""
    from insurtrack import audit

    a = app_context(ctx)
    expected = text_value("--head", head)
    if expected is not None and not _is_hash(expected):
        from insurtrack.errors import BadInput

        raise BadInput("--head", expected, "is not a head hash (64 hexadecimal digits, as "
                       "`audit verify` prints it)")
    with a.reading() as w:
        check = audit.verify(w.session.connection(), expect_head=expected)
    out = a.output(fmt)
    summary = (f"chain intact: {check.entries} entries" if check.intact else
               f"chain broken: {check.count} problem{'s' if check.count != 1 else ''} in "
               f"{check.entries} entries")
    if fmt is OutputFormat.TABLE:
        if check.intact:
            typer.echo(f"{summary} (head {check.head})")
        else:
            out.rows(check.problems, audit.VERIFY_COLUMNS, title="Audit chain problems")
    else:
        out.record({"intact": check.intact, "entries": check.entries, "head": check.head,
                    "problem_count": check.count, "summary": summary},
                   {"problems": check.problems} if fmt is OutputFormat.JSON else None)
    if not check.intact:
        out.message(f"error: {summary}")
        raise typer.Exit(EXIT_BROKEN)


def _is_hash(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)
