"""`insurtrack renew`: installments and renewals coming up, reminders (T7), payments and new
terms (L6)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli import policy
from insurtrack.cli.context import app_context
from insurtrack.cli.options import MAX_DAYS_AHEAD, AtOpt, FormatOpt, NoteOpt, OutputFormat, text_value
from insurtrack.domain.states import ContactChannel, ReminderResult

app = typer.Typer(help="Installments and renewals: what is coming up, reminders, payments, new terms (L6, T7).", no_args_is_help=True)

app.command("pay")(policy.pay)


@app.command("upcoming")
def upcoming(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", help="Look this many days ahead (overdue items always show).", min=0, max=MAX_DAYS_AHEAD)] = 30,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this person's policies (login).")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Installments due or overdue and policies coming up for renewal, soonest first (T7)."""
    from insurtrack.services import renewals as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.upcoming(w, days=days, owner=owner)
    a.output(fmt).rows(rows, svc.COLUMNS, title="Upcoming installments and renewals")


@app.command("remind")
def remind(
    ctx: typer.Context, code: policy.Code,
    channel: Annotated[ContactChannel, typer.Option("--channel", help="How the customer was reminded.", case_sensitive=False)],
    result: Annotated[ReminderResult, typer.Option("--result", help="What came of it.", case_sensitive=False)],
    installment: Annotated[Optional[int], typer.Option("--installment", help="Installment number (default: the oldest unpaid).", min=1)] = None,
    renewal: Annotated[bool, typer.Option("--renewal", help="A reminder of the coming expiry and renewal.")] = False,
    note: NoteOpt = None, at: AtOpt = None,
) -> None:
    """Record a reminder of an installment or of the renewal, with its result (T7)."""
    from insurtrack.services import renewals as svc

    a = app_context(ctx)
    when = policy.when_of(a, at)
    with a.work() as w:
        r = svc.remind(w, code, channel=channel, result=result, installment=installment,
                       renewal=renewal, note=text_value("--note", note), at=when)
    what = "renewal" if r.installment_id is None else "installment"
    a.output().message(f"{what} reminder recorded for {code.strip().upper()} ({r.channel}: {r.result})")


@app.command("term")
def term(
    ctx: typer.Context, code: policy.Code, effective: policy.Effective = None, at: AtOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Renew a policy for a new term of the same plan, starting the day after it expires (L6)."""
    from insurtrack.services import policies, renewals as svc

    a = app_context(ctx)
    when, start = policy.when_of(a, at), policy.effective_of(a, effective)
    with a.work() as w:
        p = svc.term(w, code, effective=start, at=when)
        record, sections = policies.show(w, p.code)
    policy.show_new(a, fmt, record, sections, f"policy {record['renewed_from']} renewed as {p.code}")
