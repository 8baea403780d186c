"""`insurtrack verify`: a second person checks a record (D2, K4), and the list of what nobody has
checked yet."""

from __future__ import annotations

from typing import Annotated, Optional

import click
import typer
from typer.core import TyperGroup

from insurtrack.cli.context import app_context
from insurtrack.cli.options import (MAX_DAYS_AHEAD, FormatOpt, LimitOpt, NoteOpt, OutputFormat,
                                    text_value)

PARTS = ("record", "assessment", "payment")
KINDS = ("customer", "application", "policy", "claim", "revisit", "feedback")


class _CodeOrCommand(TyperGroup):
    """`verify C-000001` is `verify record C-000001`: a code is never a subcommand's name."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in self.get_help_option_names(ctx):
            args = ["record", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CodeOrCommand,
    help="Checked entries (D2, K4): `insurtrack verify CODE` marks a customer (C-…), application "
         "(A-…), policy (P-…), claim (CL-…), revisit (R-…) or feedback (F-…) verified by you — "
         "never by the person who entered it; `verify CL-… --part payment` checks a claim's "
         "payment (or --part assessment). `verify list` shows what nobody has verified yet.\n\n"
         "Exit codes: 3 unknown code; 4 already verified (or nothing to verify yet); 5 you "
         "entered it yourself.",
    no_args_is_help=True,
)

Part = Annotated[str, typer.Option("--part", help="What to verify: record (default), or a claim's "
                                                  "assessment or payment.")]


@app.command("record", hidden=True)
def record(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The record's code: C-…, A-…, P-…, CL-…, R-…, F-….")],
    part: Part = "record",
    note: NoteOpt = None,
) -> None:
    """Mark a record verified by you (D2)."""
    from insurtrack.services import verify as svc

    a = app_context(ctx)
    chosen = part.strip().lower()
    with a.work() as w:
        v = svc.verify(w, code, part=chosen, note=text_value("--note", note))
        what = v.code if v.part == "record" else f"the {v.part} of {v.code}"
        a.output().message(f"{what}: verified by {w.actor.code}")


@app.command("list")
def listing(
    ctx: typer.Context,
    kind: Annotated[Optional[list[str]], typer.Option(
        "--kind", help=f"Only this kind ({', '.join(KINDS)}); repeat for more.")] = None,
    part: Part = "record",
    entered_by: Annotated[Optional[str], typer.Option(
        "--entered-by", help="Only what this person (login) entered.")] = None,
    older_than: Annotated[Optional[int], typer.Option(
        "--older-than", help="Only what was entered more than this many days ago.",
        min=0, max=MAX_DAYS_AHEAD)] = None,
    limit: LimitOpt = 100,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """What nobody has verified yet, oldest first, with who entered it (D2, K4)."""
    from insurtrack.services import verify as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.unverified(w, kinds=[k.strip().lower() for k in kind] if kind else None,
                              part=part.strip().lower(), entered_by_code=entered_by,
                              older_than_days=older_than, limit=limit)
    a.output(fmt).rows(rows, svc.UNVERIFIED_COLUMNS, title="Unverified")
