"""Plans and applications (L2, L3): the plan and its lines, its delivery by the promised date
(T2), the document checklist, sales' first review, submission to underwriting (T3, T4) and
withdrawal. Underwriting's decisions are in services/underwriting.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from insurtrack.domain import models as m
from insurtrack.domain import states
from insurtrack.domain.states import ApplicationStatus as S
from insurtrack.domain.states import Frequency
from insurtrack.errors import BadInput, Refused
from insurtrack.services import customers
from insurtrack.services.base import Work, by_code, next_code, staff_by_code, staff_codes
from insurtrack.services.profile import timeline

PLAN_STATES = (S.DRAFT, S.INCOMPLETE, S.REVIEWED)          # the plan is still with sales
CHECKLIST_STATES = PLAN_STATES + (S.INFO_REQUESTED,)      # documents may still come in
Line = tuple[str, Decimal, Decimal]                         # product, sum insured, yearly premium


def get(w: Work, code: str) -> m.Application:
    return by_code(w.session, m.Application, code, "application")


def step_time(w: Work, app: m.Application, at: datetime | None) -> datetime:
    """A step's time: `--at` or now, never before the application's previous step."""
    last = w.session.execute(
        select(func.max(m.Event.occurred_at)).where(m.Event.subject == app.code)).scalar()
    previous = max(t for t in (app.created_at, app.delivered_at, app.reviewed_at, app.submitted_at,
                               app.decided_at, last) if t is not None)
    return w.at(at, not_before=previous, not_before_what=f"the previous step of application {app.code}")


def event(w: Work, step: str, app: m.Application, when: datetime, **payload: Any) -> None:
    w.event(f"application.{step}", app.code, occurred_at=when, customer_id=app.customer_id, **payload)


def term_text(months: int) -> str:
    """A term as typed: 20y, 18m."""
    return f"{months // 12}y" if months % 12 == 0 else f"{months}m"


def _only_while(app: m.Application, allowed: Sequence[S], doing: str) -> None:
    if app.status not in allowed:
        raise Refused(f"cannot {doing} application {app.code}: it is {app.status.replace('_', ' ')}; "
                      f"possible only while {', '.join(s.value for s in allowed)}")


def _line(w: Work, product: str, sum_insured: Decimal, premium: Decimal) -> Line:
    products: list[str] = w.settings["plan.products"]
    name = product.strip()
    if len(name) > 64:
        raise BadInput("--line", product[:20] + "…", "the product is longer than 64 characters")
    if products:
        name = next((p for p in products if p.casefold() == name.casefold()), "")
        if not name:
            raise BadInput("--line", product, f"is not a product; valid products: {', '.join(products)}")
    for what, amount in (("sum insured", sum_insured), ("premium", premium)):
        if amount <= 0:
            raise BadInput("--line", f"{product}:{sum_insured}:{premium}",
                           f"the {what} must be more than zero")
    return name, sum_insured, premium


def _check_term(frequency: Frequency, term_months: int) -> None:
    """The term must hold a whole number of payment periods (any term for a single premium)."""
    if frequency.months and term_months % frequency.months:
        raise BadInput("--term", term_text(term_months),
                       f"is not a whole number of {frequency.value} payment periods "
                       f"({frequency.months} months each)")


def _checklist(base: Iterable[str], extras: Iterable[str]) -> list[str]:
    names: list[str] = list(base)
    for extra in extras:
        if extra.casefold() in {n.casefold() for n in names}:
            raise BadInput("--doc", extra, "is already on the checklist")
        names.append(extra)
    return names


def new(w: Work, customer: str, *, lines: Sequence[Line], frequency: Frequency, term_months: int,
        promised: date, owner: str | None = None, documents: Sequence[str] = (),
        at: datetime | None = None) -> m.Application:
    """L2, T2: a personalised plan (product lines, payment frequency, term) promised by a date,
    with the checklist of documents the application needs (L3)."""
    w.require("apply.new")
    cust = customers.get(w, customer)
    when = w.at(at, not_before=cust.created_at, not_before_what=f"customer {cust.code} was added")
    person = customers.owner_for(w, owner)
    if not lines:
        raise BadInput("--line", None, "is required: give at least one PRODUCT:SUM_INSURED:PREMIUM")
    plan = [_line(w, *line) for line in lines]
    freq = Frequency(frequency)
    _check_term(freq, term_months)
    made_on = when.astimezone(w.settings.timezone).date()
    if promised < made_on:
        raise BadInput("--promised", promised.isoformat(),
                       f"is before the day the plan is made ({made_on.isoformat()})")
    checklist = _checklist(w.settings["application.required_documents"], documents)
    app = m.Application(code=next_code(w.session, "application"), customer_id=cust.id,
                        owner_id=person.id, status=S.DRAFT.value, frequency=freq.value,
                        term_months=term_months, promised_date=promised, created_at=when)
    w.session.add(app)
    w.session.flush()
    w.session.add_all([m.ApplicationLine(application_id=app.id, product=p, sum_insured=s, premium=y)
                       for p, s, y in plan])
    w.session.add_all([m.ApplicationDocument(application_id=app.id, name=n) for n in checklist])
    event(w, "created", app, when, customer=cust.code, owner=person.code,
          lines=[{"product": p, "sum_insured": s, "premium": y} for p, s, y in plan],
          frequency=freq.value, term_months=term_months, promised_date=promised,
          documents=checklist)
    return app


def deliver(w: Work, code: str, *, at: datetime | None = None) -> m.Application:
    """T2: the plan was presented to the customer (once)."""
    w.require("apply.deliver")
    app = get(w, code)
    _only_while(app, PLAN_STATES, "deliver the plan of")
    if app.delivered_at is not None:
        raise Refused(f"the plan of application {app.code} was already delivered on "
                      f"{w.show(app.delivered_at)}")
    when = step_time(w, app, at)
    app.delivered_at = when
    delivered_on = when.astimezone(w.settings.timezone).date()
    event(w, "plan_delivered", app, when, promised_date=app.promised_date,
          on_time=app.promised_date is None or delivered_on <= app.promised_date)
    return app


def _documents(w: Work, app: m.Application) -> list[m.ApplicationDocument]:
    return list(w.session.execute(select(m.ApplicationDocument).where(
        m.ApplicationDocument.application_id == app.id).order_by(m.ApplicationDocument.id)).scalars())


def _outstanding(w: Work, app: m.Application) -> list[str]:
    return [d.name for d in _documents(w, app) if d.required and d.received_at is None]


def _refuse_outstanding(w: Work, app: m.Application, doing: str) -> None:
    missing = _outstanding(w, app)
    if missing:
        raise Refused(f"cannot {doing} application {app.code}: required documents not received: "
                      f"{', '.join(missing)} (record them with `insurtrack apply receive`)")


def docs(w: Work, code: str) -> list[dict[str, Any]]:
    """The document checklist (L3)."""
    app = get(w, code)
    rows = _documents(w, app)
    who = staff_codes(w.session, {d.received_by_id for d in rows})
    return [{"name": d.name, "required": d.required, "received_at": d.received_at,
             "received_by": who.get(d.received_by_id)} for d in rows]


DOC_COLUMNS = ["name", "required", "received_at", "received_by"]


def receive(w: Work, code: str, names: Sequence[str], *, at: datetime | None = None) -> m.Application:
    """L3 (T4 while info_requested): documents came in from the customer."""
    w.require("apply.receive")
    app = get(w, code)
    _only_while(app, CHECKLIST_STATES, "receive documents for")
    when = step_time(w, app, at)
    checklist = {d.name.casefold(): d for d in _documents(w, app)}
    got = []
    for name in names:
        doc = checklist.get(name.strip().casefold())
        if doc is None:
            raise BadInput("NAME", name, f"is not on the checklist of {app.code} "
                                         f"({', '.join(d.name for d in checklist.values())})")
        if doc.received_at is not None:
            raise Refused(f"{doc.name!r} of application {app.code} was already received on "
                          f"{w.show(doc.received_at)}")
        doc.received_at, doc.received_by_id = when, w.actor.id
        got.append(doc.name)
    event(w, "document_received", app, when, documents=got)
    return app


def require(w: Work, code: str, names: Sequence[str]) -> m.Application:
    """L3: add documents to the checklist."""
    w.require("apply.require")
    app = get(w, code)
    _only_while(app, CHECKLIST_STATES, "add documents to")
    have = {d.name.casefold(): d.name for d in _documents(w, app)}
    for name in names:
        if name.casefold() in have:
            raise Refused(f"{have[name.casefold()]!r} is already on the checklist of {app.code}")
        have[name.casefold()] = name
        w.session.add(m.ApplicationDocument(application_id=app.id, name=name))
    event(w, "document_required", app, w.now(), documents=list(names))
    return app


def review(w: Work, code: str, *, complete: bool = False, missing: Sequence[str] = (),
           at: datetime | None = None) -> m.Application:
    """L3: sales' first review for completeness and accuracy: complete, or the missing items."""
    w.require("apply.review")
    if complete == bool(missing):
        raise BadInput("--complete/--missing", None, "give either --complete or at least one --missing ITEM")
    app = get(w, code)
    action = "review_complete" if complete else "review_incomplete"
    states.transition("application", app.status, action, app.code)
    if complete:
        _refuse_outstanding(w, app, "pass the review of")
    when = step_time(w, app, at)
    w.step("application", app, action)
    app.review_note = "; ".join(missing) or None
    app.reviewed_at = when
    event(w, "reviewed", app, when, outcome="complete" if complete else "incomplete",
          missing=list(missing))
    return app


def submit(w: Work, code: str, *, at: datetime | None = None) -> m.Application:
    """T3, T4: file the reviewed application with underwriting (daily checks and the decision
    clock start here)."""
    w.require("apply.submit")
    app = get(w, code)
    states.transition("application", app.status, "submit", app.code)
    _refuse_outstanding(w, app, "submit")
    when = step_time(w, app, at)
    w.step("application", app, "submit")
    app.submitted_at = when
    event(w, "submitted", app, when)
    return app


def withdraw(w: Work, code: str, *, reason: str, at: datetime | None = None) -> m.Application:
    """The customer withdraws (any time before a policy is issued)."""
    w.require("apply.withdraw")
    app = get(w, code)
    when = step_time(w, app, at)
    w.step("application", app, "withdraw")
    app.withdraw_reason = reason
    event(w, "withdrawn", app, when, reason=reason)
    return app


def totals():
    """Yearly premium and sum insured per application (a subquery to join)."""
    line = m.ApplicationLine
    return (select(line.application_id, func.sum(line.premium).label("premium"),
                   func.sum(line.sum_insured).label("sum_insured"))
            .group_by(line.application_id).subquery())


LIFECYCLE = case({s.value: i for i, s in enumerate(S)}, value=m.Application.status)
LIST_COLUMNS = ["code", "customer", "status", "frequency", "term", "premium", "sum_insured",
                "promised", "owner", "age_days"]


def listing(w: Work, *, status: S | None = None, owner: str | None = None,
            customer: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The pipeline, by lifecycle state then code; premium is the yearly total of the lines."""
    t = totals()
    q = (select(m.Application, m.Customer.code, m.Staff.code, t.c.premium, t.c.sum_insured)
         .join(m.Customer, m.Customer.id == m.Application.customer_id)
         .join(m.Staff, m.Staff.id == m.Application.owner_id)
         .outerjoin(t, t.c.application_id == m.Application.id))
    if status:
        q = q.where(m.Application.status == S(status).value)
    if owner:
        q = q.where(m.Application.owner_id == staff_by_code(w.session, owner, field="--owner",
                                                             active=False).id)
    if customer:
        q = q.where(m.Application.customer_id == customers.get(w, customer).id)
    q = q.order_by(LIFECYCLE, m.Application.code)
    if limit:
        q = q.limit(limit)
    now = w.now()
    return [{"code": a.code, "customer": cust, "status": a.status, "frequency": a.frequency,
             "term": term_text(a.term_months), "premium": premium, "sum_insured": sum_insured,
             "promised": a.promised_date, "owner": who, "age_days": (now - a.created_at).days}
            for a, cust, who, premium, sum_insured in w.session.execute(q).all()]


def show(w: Work, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The application with its decision fields, lines, checklist and timeline."""
    a = get(w, code)
    s = w.session
    cust = s.get(m.Customer, a.customer_id)
    who = staff_codes(s, {a.owner_id, a.decided_by_id})
    lines = list(s.execute(select(m.ApplicationLine).where(m.ApplicationLine.application_id == a.id)
                           .order_by(m.ApplicationLine.id)).scalars())
    record = {
        "code": a.code, "customer": cust.code, "customer_name": cust.name, "owner": who[a.owner_id],
        "status": a.status, "frequency": a.frequency, "term": term_text(a.term_months),
        "term_months": a.term_months, "premium": sum((ln.premium for ln in lines), Decimal("0.00")),
        "sum_insured": sum((ln.sum_insured for ln in lines), Decimal("0.00")),
        "promised": a.promised_date, "delivered_at": a.delivered_at, "created_at": a.created_at,
        "review_note": a.review_note, "reviewed_at": a.reviewed_at, "submitted_at": a.submitted_at,
        "info_requested": a.info_requested, "decision": a.decision, "conditions": a.conditions,
        "rate_loading": a.rate_loading, "decline_reason": a.decline_reason,
        "decline_advice": a.decline_advice, "decided_at": a.decided_at,
        "decided_by": who.get(a.decided_by_id), "withdraw_reason": a.withdraw_reason,
    }
    return record, {
        "lines": [{"product": ln.product, "sum_insured": ln.sum_insured, "premium": ln.premium}
                  for ln in lines],
        "documents": docs(w, a.code),
        "timeline": timeline(s, subjects=[a.code]),
    }
