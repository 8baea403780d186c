"""`insurtrack underwrite`: the queue of filed applications and the decisions on them (L4, T4)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.apply import Code, report_step, step_at
from insurtrack.cli.context import app_context
from insurtrack.cli.options import AtOpt, FormatOpt, NoteOpt, OutputFormat, percent, text_value

app = typer.Typer(help="Underwriting: the queue and decisions (L4, T4).", no_args_is_help=True)


@app.command("queue")
def queue(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Applications waiting for a decision, oldest submission first, with credit and risk (K3)."""
    from insurtrack.services import underwriting as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.queue(w)
    a.output(fmt).rows(rows, svc.QUEUE_COLUMNS, title="Underwriting queue")


@app.command("accept")
def accept(
    ctx: typer.Context, code: Code,
    conditions: Annotated[Optional[str], typer.Option("--conditions", help="Conditions of acceptance (exclusions, guarantee…).")] = None,
    loading: Annotated[Optional[str], typer.Option("--loading", help="Rate loading in percent of the premium, e.g. 25.")] = None,
    at: AtOpt = None,
) -> None:
    """Accept, possibly with conditions and/or a rate loading (L4)."""
    from insurtrack.services import underwriting as svc

    a = app_context(ctx)
    when = step_at(a, at)
    rate = percent("--loading", loading)
    with a.work() as w:
        application = svc.accept(w, code, conditions=text_value("--conditions", conditions),
                                 loading=rate, at=when)
    report_step(a, application, "accepted")


@app.command("decline")
def decline(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="Why the application is declined.")],
    advice: Annotated[str, typer.Option("--advice", help="Advice for the customer (other products, what would change it).")],
    at: AtOpt = None,
) -> None:
    """Decline, with the reason and advice for the customer (L4)."""
    from insurtrack.services import underwriting as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.decline(w, code, reason=text_value("--reason", reason, required=True),
                                  advice=text_value("--advice", advice, required=True), at=when)
    report_step(a, application, "declined")


@app.command("request-info")
def request_info(
    ctx: typer.Context, code: Code,
    what: Annotated[str, typer.Option("--what", help="What the customer must supply, or the investigation needed.")],
    at: AtOpt = None,
) -> None:
    """Ask for more documents or an investigation; the decision clock waits (T4)."""
    from insurtrack.services import underwriting as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.request_info(w, code, what=text_value("--what", what, required=True),
                                       at=when)
    report_step(a, application, f"waiting for the customer: {application.info_requested}")


@app.command("info-received")
def info_received(ctx: typer.Context, code: Code, note: NoteOpt = None, at: AtOpt = None) -> None:
    """What the customer owed has arrived: back with underwriting (T4)."""
    from insurtrack.services import underwriting as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.info_received(w, code, note=text_value("--note", note), at=when)
    report_step(a, application, "information received")
