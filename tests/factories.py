"""Row-level builders for service tests: a customer through the service, and applications,
policies and claims written straight as rows in a chosen state (no events), so a test of one
step does not depend on every step before it. End-to-end tests use the CLI instead."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from insurtrack.domain import models as m
from insurtrack.services.base import Work, next_code

D = Decimal


def customer(w: Work, *, name: str = "Li Na", owner: str = "sally", kind: str = "person",
             birth_date: date | None = date(1985, 6, 15), region: str = "Shanghai") -> m.Customer:
    from sqlalchemy import select

    from insurtrack.domain.states import CustomerKind
    from insurtrack.services import customers

    actor = w.actor
    if actor is not None and actor.department not in ("sales", "manager"):
        # sales opens customer profiles (T1; services/permissions.py): the owner does it here,
        # whoever the test acts as afterwards
        w.actor = w.session.execute(select(m.Staff).where(m.Staff.code == owner)).scalar_one()
    try:
        return customers.add(w, kind=CustomerKind(kind), name=name, owner=owner,
                             birth_date=birth_date, region=region, phone="13800000000")
    finally:
        w.actor = actor


def application(w: Work, cust: m.Customer, *, status: str = "submitted", frequency: str = "annual",
                term_months: int = 12, owner: m.Staff | None = None,
                lines: tuple = (("term-life", "500000.00", "1200.00"),),
                rate_loading: Decimal | None = None, conditions: str | None = None,
                promised_date: date | None = None) -> m.Application:
    now = w.now()
    app = m.Application(code=next_code(w.session, "application"), customer_id=cust.id,
                        owner_id=(owner or w.actor).id if owner or w.actor else cust.owner_id,
                        status=status, frequency=frequency, term_months=term_months,
                        promised_date=promised_date, created_at=now,
                        submitted_at=now if status not in ("draft", "incomplete", "reviewed") else None,
                        rate_loading=rate_loading, conditions=conditions,
                        decision="accept" if status in ("accepted", "issued") else None)
    w.session.add(app)
    w.session.flush()
    for product, sum_insured, premium in lines:
        w.session.add(m.ApplicationLine(application_id=app.id, product=product,
                                        sum_insured=D(sum_insured), premium=D(premium)))
    w.session.flush()
    return app


def policy(w: Work, cust: m.Customer, *, status: str = "in_force", frequency: str = "annual",
           effective: date = date(2026, 1, 1), term_months: int = 12,
           lines: tuple = (("term-life", "500000.00", "1200.00"),),
           paid_installments: int | None = None) -> m.Policy:
    """A policy with its lines and a schedule (equal installments, the first paid if in force)."""
    from insurtrack.domain.states import Frequency

    freq = Frequency(frequency)
    sum_insured = sum(D(s) for _, s, _ in lines)
    premium = sum(D(p) for _, _, p in lines)
    now = w.now()
    pol = m.Policy(code=next_code(w.session, "policy"), customer_id=cust.id, owner_id=cust.owner_id,
                   status=status, frequency=freq.value, term_months=term_months,
                   effective_date=effective,
                   expiry_date=effective + relativedelta(months=term_months) - timedelta(days=1),
                   sum_insured=sum_insured, premium=premium, issued_at=now,
                   in_force_at=now if status not in ("issued",) else None,
                   product=lines[0][0] if len(lines) == 1 else None)
    w.session.add(pol)
    w.session.flush()
    for product, s, p in lines:
        w.session.add(m.PolicyLine(policy_id=pol.id, product=product, sum_insured=D(s), premium=D(p)))
    if freq is Frequency.SINGLE:
        dues = [effective]
        amount = premium
    else:
        count = term_months // freq.months
        dues = [effective + relativedelta(months=freq.months * i) for i in range(count)]
        amount = (premium / freq.per_year).quantize(D("0.01"))
    if paid_installments is None:
        paid_installments = 0 if status == "issued" else 1
    for i, due in enumerate(dues, start=1):
        paid = i <= paid_installments
        w.session.add(m.Installment(policy_id=pol.id, seq=i, due_date=due, amount=amount,
                                    paid_amount=amount if paid else D("0.00"),
                                    status="paid" if paid else "due",
                                    paid_at=now if paid else None))
    w.session.flush()
    return pol


def claim(w: Work, pol: m.Policy, *, status: str = "reported", amount: str = "10000.00",
          incident_at: datetime | None = None, complexity: str | None = None,
          approved_amount: str | None = None) -> m.Claim:
    now = w.now()
    c = m.Claim(code=next_code(w.session, "claim"), policy_id=pol.id, customer_id=pol.customer_id,
                handler_id=w.actor.id, status=status, incident_at=incident_at or now - timedelta(days=1),
                place="Nanjing Road", circumstances="slipped on a wet floor",
                amount_claimed=D(amount), reported_at=now,
                contacted_at=now if status != "reported" else None,
                complexity=complexity or (None if status in ("reported", "contacted") else "simple"),
                approved_amount=D(approved_amount) if approved_amount else None)
    w.session.add(c)
    w.session.flush()
    return c
