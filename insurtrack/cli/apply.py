"""`insurtrack apply`: plans (L2, T2), applications with their documents and first review (L3),
submission to underwriting (T3), withdrawal."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import (
    AtOpt,
    FormatOpt,
    LimitOpt,
    OutputFormat,
    day,
    instant,
    money,
    term_months,
    text_value,
)
from insurtrack.domain.states import ApplicationStatus, Frequency
from insurtrack.errors import BadInput

app = typer.Typer(help="Plans and applications: draft, documents, first review, submit, withdraw (L2, L3).", no_args_is_help=True)

Code = Annotated[str, typer.Argument(help="Application code, e.g. A-000001.")]  # shared with underwrite
Names = Annotated[list[str], typer.Argument(metavar="NAME...", help="Checklist items, e.g. 'proof of identity'.")]
LINE_FORM = "PRODUCT:SUM_INSURED:PREMIUM (e.g. term-life:500000:1200)"


def _line(text: str) -> tuple[str, Decimal, Decimal]:
    """One plan line: product, sum insured and yearly premium (the whole premium if single)."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[0].strip():
        raise BadInput("--line", text, f"is not {LINE_FORM}")
    amounts = []
    for what, raw in (("sum insured", parts[1]), ("premium", parts[2])):
        try:
            amounts.append(money("--line", raw))
        except BadInput as exc:
            raise BadInput("--line", text, f"the {what} {raw!r} {exc.reason}") from None
    return parts[0].strip(), amounts[0], amounts[1]


def _names(field: str, names: Optional[list[str]]) -> list[str]:
    return [text_value(field, n, required=True, max_len=200) for n in names or []]


def step_at(a, at: Optional[str]):
    """--at as an instant (never in the future)."""
    return instant("--at", at, tz=a.settings.timezone, now=a.clock.now())


def report_step(a, application, what: str) -> None:
    """Say on stderr what happened to the application and its status now."""
    a.output().message(f"application {application.code}: {what} (now {application.status.replace('_', ' ')})")


@app.command("new")
def new(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="Customer code, e.g. C-000001.")],
    line: Annotated[list[str], typer.Option("--line", help=f"A product of the plan: {LINE_FORM}; the premium is yearly (whole premium if single). Repeatable.")],
    frequency: Annotated[Frequency, typer.Option("--frequency", help="How the premium is paid.", case_sensitive=False)],
    term: Annotated[str, typer.Option("--term", help="Term of cover: 20y, 6m… (a whole number of payment periods).")],
    promised: Annotated[str, typer.Option("--promised", help="Date the plan is promised to the customer, YYYY-MM-DD or today (T2).")],
    owner: Annotated[Optional[str], typer.Option("--owner", help="Owning sales person (login). Default: you, if you are in sales.")] = None,
    doc: Annotated[Optional[list[str]], typer.Option("--doc", help="An extra required document besides the standard checklist. Repeatable.")] = None,
    at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Draft a personalised plan for a customer (L2) with its document checklist (L3)."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    lines = [_line(text) for text in line]
    months = term_months("--term", term)
    promised_date = day("--promised", promised, today=a.today())
    with a.work() as w:
        application = svc.new(w, customer, lines=lines, frequency=frequency, term_months=months,
                              promised=promised_date, owner=owner, documents=_names("--doc", doc),
                              at=when)
        record, _ = svc.show(w, application.code)
    a.output(fmt).record(record, title=f"Application {application.code}")


@app.command("deliver")
def deliver(ctx: typer.Context, code: Code, at: AtOpt = None) -> None:
    """Record that the plan was presented to the customer (T2)."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.deliver(w, code, at=when)
    report_step(a, application, "plan delivered")


@app.command("docs")
def docs(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """The application's document checklist (L3)."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.docs(w, code)
    a.output(fmt).rows(rows, svc.DOC_COLUMNS, title="Documents")


@app.command("receive")
def receive(ctx: typer.Context, code: Code, names: Names, at: AtOpt = None) -> None:
    """Mark checklist documents as received from the customer."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.receive(w, code, _names("NAME", names), at=when)
    report_step(a, application, f"received {', '.join(names)}")


@app.command("require")
def require(ctx: typer.Context, code: Code, names: Names) -> None:
    """Add documents to the application's checklist."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    with a.work() as w:
        application = svc.require(w, code, _names("NAME", names))
    report_step(a, application, f"now requires {', '.join(names)}")


@app.command("review")
def review(
    ctx: typer.Context, code: Code,
    complete: Annotated[bool, typer.Option("--complete", help="The application is complete and accurate.")] = False,
    missing: Annotated[Optional[list[str]], typer.Option("--missing", help="An item missing or wrong. Repeatable.")] = None,
    at: AtOpt = None,
) -> None:
    """Sales' first review for completeness and accuracy (L3)."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.review(w, code, complete=complete, missing=_names("--missing", missing),
                                 at=when)
    report_step(a, application, "reviewed")


@app.command("submit")
def submit(ctx: typer.Context, code: Code, at: AtOpt = None) -> None:
    """File the reviewed application with underwriting (T3: check it daily until decided)."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.submit(w, code, at=when)
    report_step(a, application, "submitted to underwriting")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="Why the customer withdraws.")],
    at: AtOpt = None,
) -> None:
    """The customer withdraws the application."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    when = step_at(a, at)
    with a.work() as w:
        application = svc.withdraw(w, code, reason=text_value("--reason", reason, required=True),
                                   at=when)
    report_step(a, application, "withdrawn")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Optional[ApplicationStatus], typer.Option("--status", help="Only this status.", case_sensitive=False)] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this sales person's applications.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's applications.")] = None,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """The pipeline: applications by status, with yearly premium, sum insured and age."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.listing(w, status=status, owner=owner, customer=customer, limit=limit)
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Applications")


@app.command("show")
def show(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """An application with its lines, documents, decision and timeline."""
    from insurtrack.services import applications as svc

    a = app_context(ctx)
    with a.reading() as w:
        record, sections = svc.show(w, code)
    a.output(fmt).record(record, sections, title=f"Application {record['code']}")
