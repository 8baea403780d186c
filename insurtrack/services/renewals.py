"""Installments and renewals (L6, T7): what falls due, reminders made to the customer, and new
terms of the same plan."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from insurtrack.domain import models as m
from insurtrack.domain.states import ContactChannel, PolicyStatus, ReminderResult
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, staff_by_code
from insurtrack.services.policies import LIVE, OPEN, get, installments, open_policy, when_after

COLUMNS = ["kind", "policy", "customer", "name", "due_date", "amount", "days", "last_reminder", "owner"]


def _successor(w: Work, p: m.Policy) -> str | None:
    return w.session.execute(select(m.Policy.code).where(m.Policy.renewed_from_id == p.id)).scalar()


def upcoming(w: Work, *, days: int = 30, owner: str | None = None) -> list[dict[str, Any]]:
    """T7: unpaid installments due within `days` or overdue, and in-force policies not yet renewed
    whose expiry falls within `days` (or passed less than policy.renewal_window_days ago)."""
    s = w.session
    day = w.today()
    horizon = day + timedelta(days=days)
    last_reminded = func.max(m.Reminder.occurred_at)
    by_installment = (select(m.Reminder.installment_id, last_reminded.label("at"))
                      .group_by(m.Reminder.installment_id).subquery())
    by_policy = (select(m.Reminder.policy_id, last_reminded.label("at"))
                 .where(m.Reminder.installment_id.is_(None)).group_by(m.Reminder.policy_id).subquery())
    successor = select(m.Policy.renewed_from_id).where(m.Policy.renewed_from_id.is_not(None))
    base = (select(m.Policy, m.Customer.code, m.Customer.name, m.Staff.code)
            .join(m.Customer, m.Customer.id == m.Policy.customer_id)
            .join(m.Staff, m.Staff.id == m.Policy.owner_id))
    if owner:
        base = base.where(m.Policy.owner_id == staff_by_code(s, owner, field="--owner", active=False).id)
    dues = (base.add_columns(m.Installment, by_installment.c.at)
            .join(m.Installment, m.Installment.policy_id == m.Policy.id)
            .outerjoin(by_installment, by_installment.c.installment_id == m.Installment.id)
            .where(m.Policy.status.in_(LIVE), m.Installment.status.in_(OPEN),
                   m.Installment.due_date <= horizon))
    ends = (base.add_columns(by_policy.c.at)
            .outerjoin(by_policy, by_policy.c.policy_id == m.Policy.id)
            .where(m.Policy.status == PolicyStatus.IN_FORCE.value, m.Policy.id.not_in(successor),
                   m.Policy.expiry_date <= horizon,
                   m.Policy.expiry_date >= day - timedelta(days=w.settings["policy.renewal_window_days"])))

    def row(kind: str, p: m.Policy, cust: str, name: str, who: str, due: date, amount, last) -> dict:
        return {"kind": kind, "policy": p.code, "customer": cust, "name": name, "due_date": due,
                "amount": amount, "days": (due - day).days,
                "last_reminder": last and w.today(last), "owner": who}

    rows = [row("installment", p, cust, name, who, i.due_date, i.amount - i.paid_amount, last)
            for p, cust, name, who, i, last in s.execute(dues).all()]
    rows += [row("renewal", p, cust, name, who, p.expiry_date, p.premium, last)
             for p, cust, name, who, last in s.execute(ends).all()]
    return sorted(rows, key=lambda r: (r["due_date"], r["policy"], r["kind"]))


def remind(w: Work, code: str, *, channel: ContactChannel, result: ReminderResult,
           installment: int | None = None, renewal: bool = False, note: str | None = None,
           at: datetime | None = None) -> m.Reminder:
    """T7: record a reminder of an installment (default: the oldest unpaid) or of the renewal."""
    w.require("renew.remind")
    if renewal and installment is not None:
        raise BadInput("--installment/--renewal", None, "choose one: an installment or the renewal")
    p = get(w, code)
    when = when_after(w, "policy", p.code, p.issued_at, at)
    w.step("policy", p, "remind")
    target = None
    if renewal:
        renewed_as = _successor(w, p)
        if renewed_as:
            raise Refused(f"policy {p.code} is already renewed as {renewed_as}")
    else:
        plan = installments(w, p)
        if installment is None:
            target = next((i for i in plan if i.status in OPEN), None)
            if target is None:
                raise Refused(f"policy {p.code} has no unpaid installment; "
                              "use --renewal for an expiry reminder")
        else:
            target = next((i for i in plan if i.seq == installment), None)
            if target is None:
                raise BadInput("--installment", installment,
                               f"policy {p.code} has installments 1 to {len(plan)}")
            if target.status not in OPEN:
                raise Refused(f"installment {installment} of policy {p.code} is {target.status}: "
                              "nothing to remind")
    reminder = m.Reminder(policy_id=p.id, installment_id=target and target.id,
                          channel=ContactChannel(channel).value, result=ReminderResult(result).value,
                          note=note, occurred_at=when, actor_id=w.actor.id)
    w.session.add(reminder)
    w.event("renewal.reminded" if renewal else "premium.reminded", p.code, occurred_at=when, customer_id=p.customer_id,
            installment=target and target.seq, renewal=renewal or None, channel=reminder.channel,
            result=reminder.result, note=note)
    return reminder


def term(w: Work, code: str, *, effective: date | None = None, at: datetime | None = None) -> m.Policy:
    """L6: renew for a new term of the same plan, within policy.renewal_window_days of expiry."""
    w.require("renew.term")
    old = get(w, code)
    when = when_after(w, "policy", old.code, old.issued_at, at)
    w.step("policy", old, "renew")
    renewed_as = _successor(w, old)
    if renewed_as:
        raise Refused(f"policy {old.code} is already renewed as {renewed_as}")
    window = timedelta(days=w.settings["policy.renewal_window_days"])
    day = w.today(when)
    if not old.expiry_date - window <= day <= old.expiry_date + window:
        raise Refused(f"cannot renew policy {old.code} on {day}: it expires {old.expiry_date} and may be "
                      f"renewed from {old.expiry_date - window} to {old.expiry_date + window}")
    start = old.expiry_date + timedelta(days=1)
    if effective is not None and effective < start:
        raise BadInput("--effective", effective.isoformat(),
                       f"overlaps the current term of policy {old.code} (cover until {old.expiry_date})")
    lines = [(x.product, x.sum_insured, x.premium) for x in w.session.execute(
        select(m.PolicyLine).where(m.PolicyLine.policy_id == old.id).order_by(m.PolicyLine.id)).scalars()]
    application = w.session.get(m.Application, old.application_id) if old.application_id else None
    new = open_policy(w, customer_id=old.customer_id, owner_id=old.owner_id, application=application,
                      frequency=old.frequency, term_months=old.term_months,
                      effective=effective or start, premium=old.premium, rate_loading=old.rate_loading,
                      conditions=old.conditions, lines=lines, when=when, renewed_from=old)
    w.event("policy.renewed", old.code, occurred_at=when, customer_id=old.customer_id, new=new.code,
            effective=new.effective_date)
    return new
