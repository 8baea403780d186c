"""`insurtrack policy`: issue (L5), premium payments, cancellation, suspension and reinstatement
(PRC Insurance Law arts. 36-37), expiry."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import AppContext, app_context
from insurtrack.cli.options import (
    MAX_DAYS_AHEAD,
    AtOpt,
    FormatOpt,
    LimitOpt,
    OutputFormat,
    day,
    instant,
    money,
    text_value,
)
from insurtrack.domain.states import PaymentMethod, PolicyStatus

app = typer.Typer(help="Policies: issue, pay, show, cancel, suspend and reinstate (L5, L6).", no_args_is_help=True)

Code = Annotated[str, typer.Argument(help="Policy code, e.g. P-000001.")]
Effective = Annotated[Optional[str], typer.Option("--effective", help="First day of cover (YYYY-MM-DD or 'today'). Default: the day of the step.")]


def when_of(a: AppContext, text: Optional[str]):
    return instant("--at", text, tz=a.settings.timezone, now=a.clock.now())


def effective_of(a: AppContext, text: Optional[str]):
    return day("--effective", text, today=a.today())


def show_new(a: AppContext, fmt: OutputFormat, record: dict, sections: dict, opening: str) -> None:
    """A new policy with its schedule, and what to tell the customer (L5)."""
    a.output(fmt).record(record, {"lines": sections["lines"], "schedule": sections["schedule"]},
                         title=f"Policy {record['code']}")
    first = sections["schedule"][0]
    a.output().message(f"{opening}: tell the customer to pay {first['amount']} by {first['due_date']}; "
                       "the cover takes effect when the premium is paid (L5)")


def _done(a: AppContext, p, what: str) -> None:
    a.output().message(f"policy {p.code}: {what} (now {p.status.replace('_', ' ')})")


@app.command("issue")
def issue(
    ctx: typer.Context,
    application: Annotated[str, typer.Argument(help="Accepted application code, e.g. A-000001.")],
    effective: Effective = None, at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Issue the policy of an accepted application, with its premium schedule (L5)."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when, start = when_of(a, at), effective_of(a, effective)
    with a.work() as w:
        p = svc.issue(w, application, effective=start, at=when)
        record, sections = svc.show(w, p.code)
    show_new(a, fmt, record, sections, f"policy {p.code} issued from {record['application']}")


@app.command("pay")
def pay(
    ctx: typer.Context, code: Code,
    amount: Annotated[str, typer.Option("--amount", help="Amount received, e.g. 1200.50.")],
    method: Annotated[PaymentMethod, typer.Option("--method", help="How it was paid.", case_sensitive=False)],
    reference: Annotated[Optional[str], typer.Option("--reference", help="Bank or receipt reference.")] = None,
    at: AtOpt = None,
) -> None:
    """Record a premium payment; it settles the oldest open installments first (L5, L6)."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when = when_of(a, at)
    paid = money("--amount", amount, allow_zero=False)
    with a.work() as w:
        p, touched = svc.pay(w, code, amount=paid, method=method, at=when,
                             reference=text_value("--reference", reference, max_len=100))
        left = svc.outstanding(w, p)
    _done(a, p, f"{paid} paid to installment(s) {', '.join(str(i.seq) for i in touched)}; "
                f"{left} still outstanding")


@app.command("show")
def show(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """A policy with its lines, premium schedule, payments, reminders and timeline."""
    from insurtrack.services import profile

    a = app_context(ctx)
    with a.peek() as r:   # without the ORM (services/profile.py)
        record, sections = profile.policy(r, code)
    a.output(fmt).record(record, sections, title=f"Policy {record['code']}")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Optional[PolicyStatus], typer.Option("--status", help="Only this status.", case_sensitive=False)] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's policies (code).")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Only this person's policies (login).")] = None,
    expiring_within: Annotated[Optional[int], typer.Option("--expiring-within", help="Only live policies whose cover ends within this many days.", min=0, max=MAX_DAYS_AHEAD)] = None,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List policies, filtered by status, customer, owner or coming expiry."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.listing(w, status=status, customer=customer, owner=owner,
                           expiring_within=expiring_within, limit=limit)
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Policies")


@app.command("cancel")
def cancel(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on record).")],
    at: AtOpt = None,
) -> None:
    """Cancel a policy; its unpaid installments are no longer owed."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when = when_of(a, at)
    with a.work() as w:
        p = svc.cancel(w, code, reason=text_value("--reason", reason, required=True), at=when)
    _done(a, p, "cancelled")


@app.command("suspend")
def suspend(ctx: typer.Context, code: Code, at: AtOpt = None) -> None:
    """Suspend a policy whose installment is unpaid past the grace period (PRC Insurance Law art. 36)."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when = when_of(a, at)
    with a.work() as w:
        p = svc.suspend(w, code, at=when)
    _done(a, p, "suspended for unpaid premium")


@app.command("reinstate")
def reinstate(ctx: typer.Context, code: Code, at: AtOpt = None) -> None:
    """Reinstate a suspended policy once everything due is paid (PRC Insurance Law art. 37)."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when = when_of(a, at)
    with a.work() as w:
        p = svc.reinstate(w, code, at=when)
    _done(a, p, "reinstated")


@app.command("expire")
def expire(ctx: typer.Context, code: Code, at: AtOpt = None) -> None:
    """Record that a policy's term has ended (after its last day of cover)."""
    from insurtrack.services import policies as svc

    a = app_context(ctx)
    when = when_of(a, at)
    with a.work() as w:
        p = svc.expire(w, code, at=when)
    _done(a, p, "expired")
