"""`insurtrack claim`: report (T9), contact, assessment (T10), documents and site investigations
(T11), approval or rejection and payment (T12), closing and reopening."""

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
    instant,
    money,
    text_value,
)
from insurtrack.domain.states import ClaimStatus, PaymentMethod
from insurtrack.errors import BadInput

app = typer.Typer(help="Claims from report to payment or rejection (L7, T9-T12).", no_args_is_help=True)

Code = Annotated[str, typer.Argument(help="Claim code, e.g. CL-000001.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept on record).")]


def _at(a: AppContext, field: str, text: Optional[str]):
    return instant(field, text, tz=a.settings.timezone, now=a.clock.now())


def _done(a: AppContext, c, what: str) -> None:
    a.output().message(f"claim {c.code}: {what} (now {c.status.replace('_', ' ')})")


@app.command("report")
def report(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="Policy code, e.g. P-000001.")],
    incident_at: Annotated[str, typer.Option("--incident-at", help="When the incident happened: '2026-11-25 14:30', '2026-11-25', '3h ago'.")],
    place: Annotated[str, typer.Option("--place", help="Where the incident happened.")],
    circumstances: Annotated[str, typer.Option("--circumstances", help="What happened.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount claimed, e.g. 12000.50.")],
    reporter: Annotated[Optional[str], typer.Option("--reporter", help="Who reported it, if not the policyholder.")] = None,
    reporter_phone: Annotated[Optional[str], typer.Option("--reporter-phone", help="The reporter's phone number.")] = None,
    product: Annotated[Optional[str], typer.Option("--product", help="The policy line claimed on (its sum insured limits the claim).")] = None,
    cause: Annotated[Optional[str], typer.Option("--cause", help="Cause of loss (accident, illness, fire, theft…).")] = None,
    handler: Annotated[Optional[str], typer.Option("--handler", help="Claims handler (login). Default: you.")] = None,
    at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Record a claim report at once: time, place and circumstances of the incident (T9)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    incident = _at(a, "--incident-at", incident_at)
    when = _at(a, "--at", at)
    claimed = money("--amount", amount, allow_zero=False)
    with a.work() as w:
        c = svc.report(w, policy, incident_at=incident, amount=claimed,
                       place=text_value("--place", place, required=True),
                       circumstances=text_value("--circumstances", circumstances, required=True),
                       reporter=text_value("--reporter", reporter, max_len=200),
                       reporter_phone=reporter_phone, product=product,
                       cause=text_value("--cause", cause, max_len=64), handler=handler, at=when)
        record, _ = svc.show(w, c.code)
    a.output(fmt).record(record, title=f"Claim {c.code}")
    a.output().message(f"claim {c.code} reported: contact the claimant now (T9), then record it "
                       f"with `insurtrack claim contact {c.code}`")


@app.command("contact")
def contact(ctx: typer.Context, code: Code, note: NoteOpt = None, at: AtOpt = None) -> None:
    """Record the first contact with the claimant (T9)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.contact(w, code, note=text_value("--note", note), at=when)
    _done(a, c, "claimant contacted")


@app.command("assess")
def assess(
    ctx: typer.Context, code: Code,
    plan: Annotated[str, typer.Option("--plan", help="The investigation plan.")],
    simple: Annotated[bool, typer.Option("--simple", help="A simple case: done within the set working days (T10).")] = False,
    complex_: Annotated[bool, typer.Option("--complex", help="A complex case: followed up periodically (T10).")] = False,
    at: AtOpt = None,
) -> None:
    """Classify the case simple or complex and plan the investigation (T10)."""
    from insurtrack.domain.states import Complexity
    from insurtrack.services import claims as svc

    if simple == complex_:
        raise BadInput("--simple/--complex", None, "choose exactly one")
    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.assess(w, code, complexity=Complexity.SIMPLE if simple else Complexity.COMPLEX,
                       plan=text_value("--plan", plan, required=True), at=when)
    _done(a, c, f"assessed {c.complexity}")


Docs = Annotated[Optional[list[str]], typer.Option("--doc", help="A document by name (repeat for more).")]


def _docs(docs: Optional[list[str]]) -> list[str]:
    return [text_value("--doc", d, required=True, max_len=200) for d in docs or []]


@app.command("request-docs")
def request_docs(ctx: typer.Context, code: Code, doc: Docs = None, note: NoteOpt = None,
                 at: AtOpt = None) -> None:
    """Ask the customer to supply or explain documents; the clock waits for them (T11)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        rows = svc.request_docs(w, code, docs=_docs(doc), note=text_value("--note", note), at=when)
        c = svc.get(w, code)
    _done(a, c, f"requested {', '.join(r.name for r in rows)}")


@app.command("docs-received")
def docs_received(ctx: typer.Context, code: Code, doc: Docs = None, at: AtOpt = None) -> None:
    """Mark documents received (default: all outstanding); the investigation then resumes (T11)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.docs_received(w, code, docs=_docs(doc), at=when)
    _done(a, c, "documents received")


@app.command("investigate")
def investigate(
    ctx: typer.Context, code: Code,
    assignee: Annotated[str, typer.Option("--assignee", help="Who investigates on site (login).")],
    instructions: Annotated[Optional[str], typer.Option("--instructions", help="What to look into.")] = None,
    at: AtOpt = None,
) -> None:
    """Assign a site investigation to a person (T11)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        svc.investigate(w, code, assignee=assignee,
                        instructions=text_value("--instructions", instructions), at=when)
        c = svc.get(w, code)
    _done(a, c, f"site investigation assigned to {assignee}")


@app.command("findings")
def findings(
    ctx: typer.Context, code: Code,
    text: Annotated[str, typer.Option("--findings", help="The process and result of the investigation.")],
    number: Annotated[Optional[int], typer.Option("--investigation", help="Which investigation (1, 2… in order of assignment). Default: the only open one.")] = None,
    at: AtOpt = None,
) -> None:
    """Record the findings of a site investigation (T11)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        svc.findings(w, code, findings=text_value("--findings", text, required=True), number=number,
                     at=when)
        c = svc.get(w, code)
    _done(a, c, "investigation findings recorded")


@app.command("approve")
def approve(
    ctx: typer.Context, code: Code,
    amount: Annotated[str, typer.Option("--amount", help="The amount to pay (never above the sum insured).")],
    at: AtOpt = None,
) -> None:
    """Approve the claim and fix the amount to pay (T12)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    value = money("--amount", amount, allow_zero=False)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.approve(w, code, amount=value, at=when)
    _done(a, c, f"approved {c.approved_amount}; pay it promptly (T12)")


@app.command("reject")
def reject(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="The reasons, as the customer is told them (T12).")],
    at: AtOpt = None,
) -> None:
    """Reject the claim with the reasons explained to the customer (T12)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.reject(w, code, reason=text_value("--reason", reason, required=True), at=when)
    _done(a, c, "rejected; explain the reasons to the customer (T12)")


@app.command("pay")
def pay(
    ctx: typer.Context, code: Code,
    method: Annotated[PaymentMethod, typer.Option("--method", help="How it was paid.", case_sensitive=False)],
    reference: Annotated[Optional[str], typer.Option("--reference", help="Bank or payment reference.")] = None,
    amount: Annotated[Optional[str], typer.Option("--amount", help="Amount paid; must be the approved amount (the default).")] = None,
    at: AtOpt = None,
) -> None:
    """Record payment of the approved amount (T12)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    value = money("--amount", amount, allow_zero=False)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.pay(w, code, method=method, amount=value, at=when,
                    reference=text_value("--reference", reference, max_len=100))
    _done(a, c, f"paid {c.paid_amount} in total")


@app.command("close")
def close(
    ctx: typer.Context, code: Code,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why; required to withdraw an open claim.")] = None,
    at: AtOpt = None,
) -> None:
    """Close a paid or rejected claim, or withdraw an open one (with --reason)."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.close(w, code, reason=text_value("--reason", reason), at=when)
    _done(a, c, "closed")


@app.command("reopen")
def reopen(ctx: typer.Context, code: Code, reason: Reason, at: AtOpt = None) -> None:
    """Reopen a closed claim for investigation; the earlier decision stays in the timeline."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    when = _at(a, "--at", at)
    with a.work() as w:
        c = svc.reopen(w, code, reason=text_value("--reason", reason, required=True), at=when)
    _done(a, c, "reopened")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Optional[ClaimStatus], typer.Option("--status", help="Only claims in this state.", case_sensitive=False)] = None,
    policy: Annotated[Optional[str], typer.Option("--policy", help="Only claims on this policy.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's claims.")] = None,
    handler: Annotated[Optional[str], typer.Option("--handler", help="Only claims this person handles (login).")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only claims not yet closed.")] = False,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List claims, filtered by state, policy, customer or handler."""
    from insurtrack.services import claims as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.listing(w, status=status, policy=policy, customer=customer, handler=handler,
                           open_only=open_, limit=limit)
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Claims")


@app.command("show")
def show(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """A claim with its documents, site investigations and timeline."""
    from insurtrack.services import profile

    a = app_context(ctx)
    with a.peek() as r:   # without the ORM (services/profile.py)
        record, sections = profile.claim(r, code)
    a.output(fmt).record(record, sections, title=f"Claim {record['code']}")
