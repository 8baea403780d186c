"""`insurtrack revisit`: revisits of in-force customers (T5, T6, T13) and, under `feedback`,
complaints, questions and requests tracked until the customer is told the outcome (T8, Q2)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import AppContext, app_context
from insurtrack.cli.options import (
    AtOpt,
    FormatOpt,
    LimitOpt,
    NoteOpt,
    OutputFormat,
    day,
    instant,
    text_value,
)
from insurtrack.domain.states import (
    ContactChannel,
    Department,
    FeedbackKind,
    FeedbackStatus,
    RevisitKind,
)

app = typer.Typer(help="Revisits (T5, T6, T13) and customer feedback (T8).", no_args_is_help=True)
feedback_app = typer.Typer(help="Customer feedback: complaints, questions, requests (T8, Q2).",
                           no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")

Customer = Annotated[str, typer.Argument(help="Customer code, e.g. C-000001.")]
PolicyOpt = Annotated[Optional[str], typer.Option("--policy", help="The policy it is about, e.g. P-000001.")]
ClaimOpt = Annotated[Optional[str], typer.Option("--claim", help="The claim it is about, e.g. CL-000001.")]
CustomerFilter = Annotated[Optional[str], typer.Option("--customer", help="Only this customer's.")]


def _at(a: AppContext, at: Optional[str]):
    return instant("--at", at, tz=a.settings.timezone, now=a.clock.now())


# ------------------------------------------------------------------------------ revisits

@app.command("log")
def log(
    ctx: typer.Context, customer: Customer,
    kind: Annotated[RevisitKind, typer.Option("--kind", help="first_contact after the policy takes effect (T5), quarterly (T6), post_claim after settlement (T13) or ad_hoc.", case_sensitive=False)],
    channel: Annotated[ContactChannel, typer.Option("--channel", help="How the customer was contacted.", case_sensitive=False)],
    policy: PolicyOpt = None, claim: ClaimOpt = None,
    satisfaction: Annotated[Optional[int], typer.Option("--satisfaction", help="The customer's rating, 1 (very unhappy) to 5 (very happy) (Q2).")] = None,
    changed_needs: Annotated[Optional[str], typer.Option("--changed-needs", help="How the customer's needs have changed (T6).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="What was said: suggestions, questions answered.")] = None,
    at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Record a revisit: first contact (T5), quarterly (T6), after a claim (T13) or ad hoc."""
    from insurtrack.services import revisits as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        r = svc.log(w, customer, kind=kind, channel=channel, policy=policy, claim=claim,
                    satisfaction=satisfaction,
                    changed_needs=text_value("--changed-needs", changed_needs),
                    notes=text_value("--notes", notes), at=when)
        record = svc.show(w, r.code)
    a.output(fmt).record(record, title=f"Revisit {r.code}")


@app.command("list")
def list_(
    ctx: typer.Context, customer: CustomerFilter = None,
    kind: Annotated[Optional[RevisitKind], typer.Option("--kind", help="Only this kind.", case_sensitive=False)] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Only revisits made by this person (login).")] = None,
    start: Annotated[Optional[str], typer.Option("--from", help="From this local date (YYYY-MM-DD), included.")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="To this local date (YYYY-MM-DD), included.")] = None,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List revisits, newest first."""
    from insurtrack.services import revisits as svc

    a = app_context(ctx)
    first, last = day("--from", start), day("--to", end)
    with a.reading() as w:
        rows = svc.listing(w, customer=customer, kind=kind, by=by, start=first, end=last,
                           limit=limit)
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Revisits")


@app.command("show")
def show(ctx: typer.Context,
         code: Annotated[str, typer.Argument(help="Revisit code, e.g. R-000001.")],
         fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """One revisit: who, when, how, satisfaction and changed needs."""
    from insurtrack.services import revisits as svc

    a = app_context(ctx)
    with a.reading() as w:
        record = svc.show(w, code)
    a.output(fmt).record(record, title=f"Revisit {record['code']}")


# ------------------------------------------------------------------------------ feedback

Code = Annotated[str, typer.Argument(help="Feedback code, e.g. F-000001.")]
ChannelOpt = Annotated[Optional[ContactChannel], typer.Option("--channel", help="How the customer reached us / was told.", case_sensitive=False)]
DeptHelp = "sales, service, underwriting, claims or manager."


def _done(a: AppContext, f, what: str) -> None:
    a.output().message(f"feedback {f.code}: {what} (now {f.status})")


@feedback_app.command("open")
def open_(
    ctx: typer.Context, customer: Customer,
    kind: Annotated[FeedbackKind, typer.Option("--kind", help="complaint, question or request.", case_sensitive=False)],
    summary: Annotated[str, typer.Option("--summary", help="What the customer said.")],
    channel: ChannelOpt = None, policy: PolicyOpt = None, claim: ClaimOpt = None,
    dept: Annotated[Optional[Department], typer.Option("--dept", help="Department that holds it: " + DeptHelp + " Default: yours.", case_sensitive=False)] = None,
    resolved: Annotated[Optional[str], typer.Option("--resolved", help="Solved on the spot: how (resolves it at once).")] = None,
    at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Record customer feedback (T8); --resolved when it was solved on the spot."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        f = svc.open_(w, customer, kind=kind, summary=text_value("--summary", summary, required=True),
                      channel=channel, policy=policy, claim=claim, department=dept,
                      resolved=text_value("--resolved", resolved, required=resolved is not None),
                      at=when)
        record, sections = svc.show(w, f.code)
    a.output(fmt).record(record, sections, title=f"Feedback {f.code}")


@feedback_app.command("transfer")
def transfer(
    ctx: typer.Context, code: Code,
    to: Annotated[Department, typer.Option("--to", help="Department to hand it to: " + DeptHelp, case_sensitive=False)],
    note: Annotated[str, typer.Option("--note", help="What the department should do.")],
    assignee: Annotated[Optional[str], typer.Option("--assignee", help="A person of that department (login).")] = None,
    at: AtOpt = None,
) -> None:
    """Transfer feedback to the department that can solve it (T8)."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        f = svc.transfer(w, code, to=to, assignee=assignee,
                         note=text_value("--note", note, required=True), at=when)
    _done(a, f, f"transferred to {f.department}")


@feedback_app.command("resolve")
def resolve(
    ctx: typer.Context, code: Code,
    resolution: Annotated[str, typer.Option("--resolution", help="How the problem was solved.")],
    at: AtOpt = None,
) -> None:
    """The problem is solved (T8); the customer still has to be told (inform)."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        f = svc.resolve(w, code, resolution=text_value("--resolution", resolution, required=True),
                        at=when)
    _done(a, f, "resolved")


@feedback_app.command("inform")
def inform(ctx: typer.Context, code: Code, channel: ChannelOpt = None, note: NoteOpt = None,
           at: AtOpt = None) -> None:
    """The customer was told the outcome: the feedback is closed (T8)."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        f = svc.inform(w, code, channel=channel, note=text_value("--note", note), at=when)
    _done(a, f, "customer informed")


@feedback_app.command("reopen")
def reopen(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not solved after all.")],
    at: AtOpt = None,
) -> None:
    """Reopen resolved or closed feedback."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    when = _at(a, at)
    with a.work() as w:
        f = svc.reopen(w, code, reason=text_value("--reason", reason, required=True), at=when)
    _done(a, f, "reopened")


@feedback_app.command("list")
def feedback_list(
    ctx: typer.Context,
    status: Annotated[Optional[FeedbackStatus], typer.Option("--status", help="Only this status.", case_sensitive=False)] = None,
    dept: Annotated[Optional[Department], typer.Option("--dept", help="Only feedback held by this department.", case_sensitive=False)] = None,
    customer: CustomerFilter = None,
    kind: Annotated[Optional[FeedbackKind], typer.Option("--kind", help="Only this kind.", case_sensitive=False)] = None,
    not_closed: Annotated[bool, typer.Option("--open", help="Only feedback not yet closed.")] = False,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List feedback, newest first."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.listing(w, status=status, department=dept, customer=customer, kind=kind,
                           not_closed=not_closed, limit=limit)
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Feedback")


@feedback_app.command("show")
def feedback_show(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """One piece of feedback with its timeline."""
    from insurtrack.services import feedback as svc

    a = app_context(ctx)
    with a.reading() as w:
        record, sections = svc.show(w, code)
    a.output(fmt).record(record, sections, title=f"Feedback {record['code']}")
