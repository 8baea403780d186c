"""Policies (L5, L6): issuance from an accepted application, premium payments allocated to the
schedule, cancellation, suspension after the grace period and reinstatement (PRC Insurance Law
arts. 36-37), expiry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from insurtrack.domain import models as m
from insurtrack.domain import schedule, states
from insurtrack.domain.states import InstallmentStatus, PaymentMethod, PolicyStatus
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, by_code, next_code, staff_by_code
from insurtrack.services.profile import OPEN

ZERO = Decimal("0.00")
LIVE = (PolicyStatus.ISSUED.value, PolicyStatus.IN_FORCE.value, PolicyStatus.SUSPENDED.value)


def get(w: Work, code: str) -> m.Policy:
    return by_code(w.session, m.Policy, code, "policy")


def when_after(w: Work, kind: str, code: str, since: datetime, at: datetime | None) -> datetime:
    """The step's time: `--at` or now, never before the record's previous step."""
    last = w.session.execute(select(func.max(m.Event.occurred_at)).where(m.Event.subject == code)).scalar()
    previous = max(t for t in (since, last) if t is not None)
    return w.at(at, not_before=previous, not_before_what=f"the previous step of {kind} {code}")


def _when(w: Work, p: m.Policy, at: datetime | None) -> datetime:
    return when_after(w, "policy", p.code, p.issued_at, at)


def _event(w: Work, step: str, p: m.Policy, when: datetime, **payload: Any) -> None:
    w.event(f"policy.{step}", p.code, occurred_at=when, customer_id=p.customer_id, **payload)


def installments(w: Work, p: m.Policy, *, open_only: bool = False) -> list[m.Installment]:
    q = select(m.Installment).where(m.Installment.policy_id == p.id)
    if open_only:
        q = q.where(m.Installment.status.in_(OPEN))
    return list(w.session.execute(q.order_by(m.Installment.seq)).scalars())


def owed(i: m.Installment) -> Decimal:
    return i.amount - i.paid_amount


def outstanding(w: Work, p: m.Policy) -> Decimal:
    """Everything still owed on the policy's schedule."""
    return sum((owed(i) for i in installments(w, p, open_only=True)), ZERO)


def open_policy(w: Work, *, customer_id: int, owner_id: int, application: m.Application | None,
                frequency: str, term_months: int, effective: date, premium: Decimal,
                rate_loading: Decimal | None, conditions: str | None,
                lines: list[tuple[str, Decimal, Decimal]], when: datetime,
                renewed_from: m.Policy | None = None) -> m.Policy:
    """Write a new issued policy, its lines and its premium schedule, with its policy.issued event."""
    try:
        dues = schedule.installment_dates(effective, frequency, term_months)
        amounts = schedule.installment_amounts(premium, frequency, term_months)
    except ValueError as exc:
        raise Refused(f"cannot schedule the premiums: {exc}") from None
    p = m.Policy(code=next_code(w.session, "policy"), application_id=application and application.id,
                 customer_id=customer_id, owner_id=owner_id, status=PolicyStatus.ISSUED.value,
                 frequency=frequency, term_months=term_months, effective_date=effective,
                 expiry_date=schedule.expiry_date(effective, term_months),
                 sum_insured=sum((s for _, s, _ in lines), ZERO), premium=premium,
                 rate_loading=rate_loading, conditions=conditions, issued_at=when,
                 renewed_from_id=renewed_from and renewed_from.id,
                 product=lines[0][0] if len(lines) == 1 else None)
    w.session.add(p)
    w.session.flush()
    w.session.add_all(m.PolicyLine(policy_id=p.id, product=product, sum_insured=s, premium=prem)
                      for product, s, prem in lines)
    w.session.add_all(m.Installment(policy_id=p.id, seq=seq, due_date=due, amount=amount,
                                    status=InstallmentStatus.DUE.value)
                      for seq, (due, amount) in enumerate(zip(dues, amounts), 1))
    w.session.flush()
    _event(w, "issued", p, when, application=application and application.code,
           renewed_from=renewed_from and renewed_from.code, effective=effective,
           expiry=p.expiry_date, premium=premium, installments=len(dues))
    return p


def issue(w: Work, application_code: str, *, effective: date | None = None,
          at: datetime | None = None) -> m.Policy:
    """L5: issue the contract of an accepted application; its schedule starts on `effective`
    (default: the day of issue). The customer must then pay the first installment."""
    w.require("policy.issue")
    app = by_code(w.session, m.Application, application_code, "application")
    when = when_after(w, "application", app.code, app.decided_at or app.created_at, at)
    w.step("application", app, "issue")
    lines = [(line.product, line.sum_insured, line.premium) for line in w.session.execute(
        select(m.ApplicationLine).where(m.ApplicationLine.application_id == app.id)
        .order_by(m.ApplicationLine.id)).scalars()]
    if not lines:
        raise Refused(f"application {app.code} has no plan lines to issue")
    loading = app.rate_loading or ZERO
    yearly = sum((prem for _, _, prem in lines), ZERO)
    premium = (yearly * (1 + loading / 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    p = open_policy(w, customer_id=app.customer_id, owner_id=app.owner_id, application=app,
                    frequency=app.frequency, term_months=app.term_months,
                    effective=effective or w.today(when), premium=premium,
                    rate_loading=app.rate_loading, conditions=app.conditions, lines=lines, when=when)
    w.event("application.issued", app.code, occurred_at=when, customer_id=app.customer_id,
            policy=p.code)
    return p


def pay(w: Work, code: str, *, amount: Decimal, method: PaymentMethod, reference: str | None = None,
        at: datetime | None = None) -> tuple[m.Policy, list[m.Installment]]:
    """L5, L6: a premium payment, allocated to the open installments oldest first. The first
    payment puts an issued policy in force."""
    w.require("policy.pay")
    p = get(w, code)
    states.transition("policy", p.status, "pay", p.code)
    when = _when(w, p, at)
    if amount <= 0:
        raise BadInput("--amount", str(amount), "must be more than zero")
    open_ = installments(w, p, open_only=True)
    total = sum((owed(i) for i in open_), ZERO)
    if amount > total:
        raise Refused(f"cannot take {amount} on policy {p.code}: only {total} is outstanding")
    method = PaymentMethod(method).value
    left, touched = amount, []
    for inst in open_:
        if not left:
            break
        take = min(left, owed(inst))
        inst.paid_amount += take
        left -= take
        if owed(inst):
            w.step("installment", inst, "pay_part")
        else:
            w.step("installment", inst, "pay_full")
            inst.paid_at = when
        w.session.add(m.Payment(policy_id=p.id, installment_id=inst.id, amount=take, method=method,
                                reference=reference, paid_at=when, recorded_by_id=w.actor.id))
        touched.append(inst)
    first = p.status == PolicyStatus.ISSUED.value
    w.step("policy", p, "pay")
    w.event("premium.paid", p.code, occurred_at=when, customer_id=p.customer_id, amount=amount,
            method=method, installments=[i.seq for i in touched], reference=reference)
    if first:
        p.in_force_at = when
        _event(w, "in_force", p, when, effective_date=p.effective_date)
    return p, touched


def cancel(w: Work, code: str, *, reason: str, at: datetime | None = None) -> m.Policy:
    """End the contract; its open installments are no longer owed."""
    w.require("policy.cancel")
    p = get(w, code)
    when = _when(w, p, at)
    w.step("policy", p, "cancel")
    dropped = installments(w, p, open_only=True)
    for inst in dropped:
        w.step("installment", inst, "cancel")
    p.cancelled_at, p.cancel_reason = when, reason
    _event(w, "cancelled", p, when, reason=reason, installments_cancelled=[i.seq for i in dropped])
    return p


def suspend(w: Work, code: str, *, at: datetime | None = None) -> m.Policy:
    """PRC Insurance Law art. 36: an installment unpaid more than policy.grace_days after its due
    date suspends the policy."""
    w.require("policy.suspend")
    p = get(w, code)
    states.transition("policy", p.status, "suspend", p.code)
    when = _when(w, p, at)
    day, grace = w.today(when), w.settings["policy.grace_days"]
    unpaid = [i for i in installments(w, p, open_only=True) if i.due_date < day]
    if not unpaid or (day - unpaid[0].due_date).days <= grace:
        detail = (f"installment {unpaid[0].seq} (due {unpaid[0].due_date}) is in its {grace}-day "
                  f"grace period until {unpaid[0].due_date + timedelta(days=grace)}"
                  if unpaid else "no installment is overdue")
        raise Refused(f"cannot suspend policy {p.code} on {day}: {detail} (PRC Insurance Law art. 36)")
    oldest = unpaid[0]
    w.step("policy", p, "suspend")
    p.suspended_at = when
    _event(w, "suspended", p, when, installment=oldest.seq, due_date=oldest.due_date,
           days_overdue=(day - oldest.due_date).days, outstanding=outstanding(w, p))
    return p


def reinstate(w: Work, code: str, *, at: datetime | None = None) -> m.Policy:
    """PRC Insurance Law art. 37: a suspended policy is reinstated once everything due is paid,
    within policy.reinstate_within_days of its suspension."""
    w.require("policy.reinstate")
    p = get(w, code)
    states.transition("policy", p.status, "reinstate", p.code)
    when = _when(w, p, at)
    day, limit = w.today(when), w.settings["policy.reinstate_within_days"]
    suspended_on = w.today(p.suspended_at)
    if (day - suspended_on).days > limit:
        raise Refused(f"cannot reinstate policy {p.code}: suspended on {suspended_on}, more than "
                      f"{limit} days ago (PRC Insurance Law art. 37)")
    unpaid = [i for i in installments(w, p, open_only=True) if i.due_date <= day]
    if unpaid:
        raise Refused(f"cannot reinstate policy {p.code}: installment(s) "
                      f"{', '.join(str(i.seq) for i in unpaid)} due by {day} still owe "
                      f"{sum((owed(i) for i in unpaid), ZERO)}")
    w.step("policy", p, "reinstate")
    _event(w, "reinstated", p, when, suspended_on=suspended_on, days_suspended=(day - suspended_on).days)
    return p


def expire(w: Work, code: str, *, at: datetime | None = None) -> m.Policy:
    """The term has ended: the policy expires after its last day of cover."""
    w.require("policy.expire")
    p = get(w, code)
    states.transition("policy", p.status, "expire", p.code)
    when = _when(w, p, at)
    if w.today(when) <= p.expiry_date:
        raise Refused(f"cannot expire policy {p.code}: it covers until {p.expiry_date} "
                      f"(it may expire from {p.expiry_date + timedelta(days=1)})")
    w.step("policy", p, "expire")
    p.expired_at = when
    _event(w, "expired", p, when, expiry_date=p.expiry_date)
    return p


LIST_COLUMNS = ["code", "status", "customer", "name", "owner", "frequency", "effective", "expiry",
                "sum_insured", "premium"]


def listing(w: Work, *, status: PolicyStatus | None = None, customer: str | None = None,
            owner: str | None = None, expiring_within: int | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Policies matching every filter; `expiring_within`: live policies whose last day of cover
    falls in the next N days."""
    s = w.session
    q = (select(m.Policy, m.Customer.code, m.Customer.name, m.Staff.code)
         .join(m.Customer, m.Customer.id == m.Policy.customer_id)
         .join(m.Staff, m.Staff.id == m.Policy.owner_id))
    if status:
        q = q.where(m.Policy.status == PolicyStatus(status).value)
    if customer:
        q = q.where(m.Policy.customer_id == by_code(s, m.Customer, customer, "customer").id)
    if owner:
        q = q.where(m.Policy.owner_id == staff_by_code(s, owner, field="--owner", active=False).id)
    if expiring_within is not None:
        start = w.today()
        q = q.where(m.Policy.status.in_(LIVE), m.Policy.expiry_date >= start,
                    m.Policy.expiry_date <= start + timedelta(days=expiring_within))
    q = q.order_by(m.Policy.code)
    if limit:
        q = q.limit(limit)
    return [{"code": p.code, "status": p.status, "customer": cust, "name": name, "owner": who,
             "frequency": p.frequency, "effective": p.effective_date, "expiry": p.expiry_date,
             "sum_insured": p.sum_insured, "premium": p.premium}
            for p, cust, name, who in s.execute(q).all()]


def show(w: Work, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The policy, its lines, premium schedule, payments, reminders and timeline, as it stands
    in this unit of work (services/profile.py, which `policy show` reads without the ORM)."""
    from insurtrack.services import profile

    return profile.policy(w, code)
