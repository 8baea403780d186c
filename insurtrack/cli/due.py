"""`insurtrack due`: every clock the rules set (T2–T13, Q1, Q3) — what is due today, at risk,
overdue or breached; cron's `due --notify`; manual follow-ups and rectification items."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import AppContext, app_context
from insurtrack.cli.options import FormatOpt, OutputFormat, instant, text_value
from insurtrack.domain.states import Department
from insurtrack.errors import BadInput

EXIT_BREACH = 8   # --fail-on-breach and something is breached or overdue
EXIT_DELIVERY = 9  # --notify: a channel failed; its messages are retried on the next run

app = typer.Typer(
    help="What is due today, at risk, overdue or breached under the company's deadlines "
         "(T2-T13, Q3), for everyone or just you; `--notify` for cron.\n\n"
         f"Exit codes: 0 ok; {EXIT_BREACH} with --fail-on-breach when anything is late; "
         f"{EXIT_DELIVERY} with --notify when a channel failed (retried next run); "
         "2-7 as for every command.",
    invoke_without_command=True,
)

IdArg = Annotated[str, typer.Argument(help="Follow-up number, as `insurtrack due` shows it (12 or #12).")]


def _when(a: AppContext, field: str, text: Optional[str]):
    return instant(field, text, tz=a.settings.timezone, now=a.clock.now())


def _days(text: str) -> int:
    raw = text.strip().lower().rstrip("d").strip()
    if not raw.isascii() or not raw.isdigit():
        raise BadInput("--forecast", text, "is a number of days, e.g. 30d")
    return int(raw)


@app.callback()
def board(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="Only what is yours: assigned to you, or in "
                                                      "your department's queue.")] = False,
    dept: Annotated[Optional[Department], typer.Option("--dept", help="Only this department's.",
                                                       case_sensitive=False)] = None,
    kind: Annotated[Optional[list[str]], typer.Option(
        "--kind", help="Only these: a rule name (claim-first-contact), a rule ID (T9) or a kind "
                       "(sla, task, manual, rectification). Repeatable.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's.")] = None,
    now: Annotated[Optional[str], typer.Option(
        "--now", help="Show the picture at this instant, past or future ('2026-03-02 09:00').")] = None,
    forecast: Annotated[Optional[str], typer.Option(
        "--forecast", help="Instead: open follow-ups falling due per department per day for the "
                           "next N days, e.g. 30d.")] = None,
    notify: Annotated[bool, typer.Option(
        "--notify", help="Send each person and department one digest of what reached a stage "
                         "(due today, at risk, late), through the channels in [notify]; each "
                         "stage is sent once.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --notify: print what would be "
                                                           "sent; send and record nothing.")] = False,
    fail_on_breach: Annotated[bool, typer.Option(
        "--fail-on-breach", help=f"Exit {EXIT_BREACH} when anything is breached or overdue.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """What is due today, at risk, overdue or breached, grouped by department and person."""
    if ctx.invoked_subcommand is not None:
        return
    a = app_context(ctx)
    if dry_run and not notify:
        raise BadInput("--dry-run", None, "goes with --notify")
    if notify:
        _notify(a, dry_run=dry_run, fmt=fmt, fail_on_breach=fail_on_breach)
        return
    from insurtrack.sla import board as svc

    _sync(a)
    if forecast is not None:
        with a.peek() as r:
            rows = svc.forecast(r, days=_days(forecast), department=dept, mine=mine)
        a.output(fmt).rows(rows, title=f"Falling due, next {_days(forecast)} days")
        return
    at = _when(a, "--now", now)
    with a.peek() as r:
        rows = svc.board(r, at=at, mine=mine, department=dept, kinds=kind, customer=customer)
        when = r.show(at or r.now())
    out = a.output(fmt)
    cols = svc.BOARD_COLUMNS if fmt == OutputFormat.TABLE else svc.MACHINE_COLUMNS
    out.rows(rows, cols, title=f"Due at {when}")
    counts = svc.summary(rows)
    if rows:
        out.message(", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n))
    if fail_on_breach and (counts["breached"] or counts["overdue"]):
        raise typer.Exit(EXIT_BREACH)


def _sync(a: AppContext) -> None:
    """Rules changed in the config since the open follow-ups were computed: recompute them (one
    index probe per rule to find out; the ORM only when there is something to recompute)."""
    from insurtrack.sla.board import stale_rules

    with a.peek() as r:
        stale = stale_rules(r.session, r.settings.rulebook)
    if stale:
        from insurtrack.services import due as svc

        with a.work() as w:
            n = svc.sync_rules(w)
        if n:
            a.output().message(f"recomputed {n} open follow-up(s) under the changed rules")


def _notify(a: AppContext, *, dry_run: bool, fmt: OutputFormat, fail_on_breach: bool) -> None:
    from insurtrack.sla import notify

    with a.reading() as w:
        actor = w.actor
    report = notify.run(a.engine, a.settings, a.clock, actor, dry_run=dry_run)
    out = a.output(fmt)
    for who in report.unrouted:
        out.message(f"no channel configured for {who} (add it under [notify] in the config)")
    if dry_run:
        out.rows([{"recipient": d.recipient, "channel": d.label, "items": len(d.ids),
                   "title": d.title, "body": d.body} for d in report.digests],
                 ["recipient", "channel", "items", "title", "body"], title="Would send")
        return
    for d in report.dropped:
        out.message(f"not sent to {d.recipient} via {d.label}: that channel is no longer configured "
                    f"({len(d.ids)} item(s); those still due go to its current channels)")
    for d, error in report.failed:
        out.message(f"could not notify {d.recipient} via {d.label}: {error} "
                    f"({len(d.ids)} item(s) kept for the next run)")
    out.message(f"queued {report.queued}, sent {len(report.sent)} digest(s)"
                f"{f', {len(report.failed)} failed' if report.failed else ''}")
    if fmt != OutputFormat.TABLE:
        out.rows([{"recipient": d.recipient, "channel": d.label, "items": len(d.ids),
                   "status": "sent" if err is None else "failed", "error": err or ""}
                  for d, err in [(d, None) for d in report.sent] + report.failed],
                 ["recipient", "channel", "items", "status", "error"])
    if report.failed:
        raise typer.Exit(EXIT_DELIVERY)
    if fail_on_breach:
        from insurtrack.sla import board

        with a.peek() as r:
            counts = board.summary(board.board(r))
        if counts["breached"] or counts["overdue"]:
            raise typer.Exit(EXIT_BREACH)


@app.command("explain")
def explain(ctx: typer.Context, ident: IdArg, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """A follow-up's rule, its clock (started, paused, warn, due) and the events behind it."""
    from insurtrack.services import due as svc

    a = app_context(ctx)
    with a.reading() as w:
        record, sections = svc.explain(w, ident)
    a.output(fmt).record(record, sections, title=f"Follow-up #{record['id']}")


@app.command("add")
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What must be done.")],
    by: Annotated[str, typer.Option("--by", help="Deadline: '2026-12-01 17:00' or a date (its end).")],
    dept: Annotated[Optional[Department], typer.Option("--dept", help="Responsible department.", case_sensitive=False)] = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Responsible person (login).")] = None,
    about: Annotated[Optional[str], typer.Option("--about", help="The record it is about (C-…, P-…, CL-…).")] = None,
    note: Annotated[Optional[str], typer.Option("--note", help="Anything worth knowing.")] = None,
    rectification: Annotated[bool, typer.Option("--rectification", help="A Q3 rectification item: needs --cause and --measure.")] = False,
    cause: Annotated[Optional[str], typer.Option("--cause", help="Q3: the cause of the problem found.")] = None,
    measure: Annotated[Optional[str], typer.Option("--measure", help="Q3: the corrective measure.")] = None,
    warn: Annotated[Optional[str], typer.Option("--warn", help="Warn this long before: '2d', '4h'.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Add a follow-up no rule covers, or a rectification item (Q3)."""
    from insurtrack.services import due as svc

    a = app_context(ctx)
    deadline = _deadline(a, by)
    with a.work() as w:
        f = svc.add(w, title=text_value("TITLE", title, required=True, max_len=500), due=deadline,
                    department=dept, assignee=to, about=about, note=text_value("--note", note),
                    rectification=rectification, cause=text_value("--cause", cause),
                    measure=text_value("--measure", measure), warn_before=_span("--warn", warn))
        record, sections = svc.explain(w, str(f.id))
    a.output(fmt).record(record, sections, title=f"Follow-up #{f.id}")


def _deadline(a: AppContext, text: str, field: str = "--by"):
    import re

    from insurtrack.cli.options import day

    if re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", text):
        d = day(field, text)
        return a.settings.calendar.end_of_day(d)
    return _when(a, field, text)


def _span(field: str, text: Optional[str]):
    import re
    from datetime import timedelta

    if text is None:
        return None
    got = re.fullmatch(r"\s*([0-9]{1,4})\s*(m|h|d)\s*", text.lower(), re.ASCII)
    if not got:
        raise BadInput(field, text, "is a span such as 30m, 4h or 2d")
    n, unit = int(got.group(1)), got.group(2)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]


@app.command("done")
def done(ctx: typer.Context, ident: IdArg,
         note: Annotated[Optional[str], typer.Option("--note", help="What was done (kept on record).")] = None,
         fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Mark a follow-up done (a daily or periodic one then opens its next occurrence)."""
    from insurtrack.services import due as svc

    a = app_context(ctx)
    with a.work() as w:
        f = svc.done(w, ident, note=text_value("--note", note))
        record, sections = svc.explain(w, str(f.id))
    a.output(fmt).record(record, sections, title=f"Follow-up #{f.id}")


@app.command("snooze")
def snooze(ctx: typer.Context, ident: IdArg,
           until: Annotated[str, typer.Option("--until", help="New deadline: '2026-12-01 17:00' or a date (its end).")],
           reason: Annotated[str, typer.Option("--reason", help="Why it may wait (kept on record).")],
           fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Move a follow-up's deadline later, with the reason on record."""
    from insurtrack.services import due as svc

    a = app_context(ctx)
    deadline = _deadline(a, until, "--until")
    with a.work() as w:
        f = svc.snooze(w, ident, until=deadline,
                       reason=text_value("--reason", reason, required=True))
        record, sections = svc.explain(w, str(f.id))
    a.output(fmt).record(record, sections, title=f"Follow-up #{f.id}")
