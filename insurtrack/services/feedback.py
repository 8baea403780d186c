"""Customer feedback (T8, Q2): complaints, questions and requests, solved on the spot or transferred
to the right department and tracked until solved; closed once the customer is told the outcome.

open → transfer → transferred → resolve → resolved → inform → closed; reopen from resolved or
closed (states.FEEDBACK)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from insurtrack.domain import models as m
from insurtrack.domain.states import ContactChannel, Department, FeedbackKind, FeedbackStatus
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, by_code, next_code, staff_by_code, staff_codes
from insurtrack.services.profile import timeline
from insurtrack.services.revisits import linked


def get(w: Work, code: str) -> m.Feedback:
    return by_code(w.session, m.Feedback, code, "feedback")


def _when(w: Work, f: m.Feedback, at: datetime | None) -> datetime:
    """The step's time: `--at` or now, never before the feedback's previous step."""
    last = w.session.execute(
        select(func.max(m.Event.occurred_at)).where(m.Event.subject == f.code)).scalar()
    return w.at(at, not_before=last or f.opened_at,
                not_before_what=f"the previous step of feedback {f.code}")


def _event(w: Work, step: str, f: m.Feedback, when: datetime, **payload: Any) -> None:
    w.event(f"feedback.{step}", f.code, occurred_at=when, customer_id=f.customer_id, **payload)


def _resolve(w: Work, f: m.Feedback, resolution: str, when: datetime) -> None:
    w.step("feedback", f, "resolve")
    f.resolution, f.resolved_at, f.resolved_by_id = resolution, when, w.actor.id
    _event(w, "resolved", f, when, resolution=resolution, department=f.department)


def open_(w: Work, customer: str, *, kind: FeedbackKind, summary: str,
          channel: ContactChannel | None = None, policy: str | None = None,
          claim: str | None = None, department: Department | None = None,
          resolved: str | None = None, at: datetime | None = None) -> m.Feedback:
    """T8: record feedback; `resolved` says it was solved on the spot (resolved at once)."""
    w.require("feedback.open")
    cust = by_code(w.session, m.Customer, customer, "customer")
    pol, cl = linked(w, cust, policy, claim)
    dept = Department(department or w.actor.department)
    when = w.at(at, not_before=cust.created_at,
                not_before_what=f"customer {cust.code} was added")
    f = m.Feedback(code=next_code(w.session, "feedback"), customer_id=cust.id,
                   policy_id=pol.id if pol else None, claim_id=cl.id if cl else None,
                   kind=FeedbackKind(kind).value,
                   channel=ContactChannel(channel).value if channel else None, summary=summary,
                   status=FeedbackStatus.OPEN.value, department=dept.value,
                   assignee_id=w.actor.id if dept.value == w.actor.department else None,
                   opened_at=when, opened_by_id=w.actor.id)
    w.session.add(f)
    w.session.flush()
    _event(w, "opened", f, when, kind=f.kind, channel=f.channel, summary=summary,
           department=f.department, policy=pol.code if pol else None,
           claim=cl.code if cl else None)
    if resolved is not None:
        _resolve(w, f, resolved, when)
    return f


def transfer(w: Work, code: str, *, to: Department, note: str, assignee: str | None = None,
             at: datetime | None = None) -> m.Feedback:
    """T8: hand the feedback to the department that can solve it, optionally to one person."""
    f = get(w, code)
    w.require("feedback.transfer", department=f.department, assignee_id=f.assignee_id, about=f.code)
    to = Department(to)
    when = _when(w, f, at)
    w.step("feedback", f, "transfer")
    if to.value == f.department:
        raise Refused(f"feedback {f.code} is already with {to.value}; transfer it to another "
                      "department")
    person = None
    if assignee is not None:
        person = staff_by_code(w.session, assignee, field="--assignee")
        if person.department != to.value:
            raise BadInput("--assignee", assignee, f"works in {person.department}, not {to.value}")
    _event(w, "transferred", f, when, **{"from": f.department}, to=to.value,
           assignee=person.code if person else None, note=note)
    f.department, f.assignee_id = to.value, person.id if person else None
    return f


def resolve(w: Work, code: str, *, resolution: str, at: datetime | None = None) -> m.Feedback:
    """T8: the problem is solved; the customer still has to be told."""
    f = get(w, code)
    w.require("feedback.resolve", department=f.department, assignee_id=f.assignee_id, about=f.code)
    when = _when(w, f, at)
    _resolve(w, f, resolution, when)
    return f


def inform(w: Work, code: str, *, channel: ContactChannel | None = None, note: str | None = None,
           at: datetime | None = None) -> m.Feedback:
    """T8: the customer was told the outcome; the feedback is closed."""
    f = get(w, code)
    w.require("feedback.inform", department=f.department, assignee_id=f.assignee_id, about=f.code)
    when = _when(w, f, at)
    w.step("feedback", f, "inform")
    f.informed_at, f.informed_by_id = when, w.actor.id
    _event(w, "informed", f, when, channel=ContactChannel(channel).value if channel else None,
           note=note)
    return f


def reopen(w: Work, code: str, *, reason: str, at: datetime | None = None) -> m.Feedback:
    """The problem is not solved after all: back to open, with its department; the earlier
    resolution stays in the timeline."""
    f = get(w, code)
    w.require("feedback.reopen", department=f.department, assignee_id=f.assignee_id, about=f.code)
    when = _when(w, f, at)
    w.step("feedback", f, "reopen")
    f.resolution = f.resolved_at = f.resolved_by_id = f.informed_at = f.informed_by_id = None
    _event(w, "reopened", f, when, reason=reason, department=f.department)
    return f


LIST_COLUMNS = ["code", "opened_at", "customer", "kind", "status", "department", "assignee",
                "summary"]


def listing(w: Work, *, status: FeedbackStatus | None = None, department: Department | None = None,
            customer: str | None = None, kind: FeedbackKind | None = None,
            not_closed: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """Feedback matching every filter, newest first."""
    q = select(m.Feedback, m.Customer.code).join(m.Customer, m.Customer.id == m.Feedback.customer_id)
    if status:
        q = q.where(m.Feedback.status == FeedbackStatus(status).value)
    if not_closed:
        q = q.where(m.Feedback.status != FeedbackStatus.CLOSED.value)
    if department:
        q = q.where(m.Feedback.department == Department(department).value)
    if customer:
        q = q.where(m.Feedback.customer_id == by_code(w.session, m.Customer, customer, "customer").id)
    if kind:
        q = q.where(m.Feedback.kind == FeedbackKind(kind).value)
    q = q.order_by(m.Feedback.opened_at.desc(), m.Feedback.id.desc())
    if limit:
        q = q.limit(limit)
    rows = w.session.execute(q).all()
    who = staff_codes(w.session, {f.assignee_id for f, _ in rows})
    return [{"code": f.code, "opened_at": f.opened_at, "customer": cust, "kind": f.kind,
             "status": f.status, "department": f.department, "assignee": who.get(f.assignee_id),
             "summary": f.summary} for f, cust in rows]


def show(w: Work, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The feedback and its timeline."""
    f = get(w, code)
    s = w.session
    cust = s.get(m.Customer, f.customer_id)
    who = staff_codes(s, {f.assignee_id, f.opened_by_id, f.resolved_by_id, f.informed_by_id})
    record = {
        "code": f.code, "customer": cust.code, "name": cust.name, "kind": f.kind,
        "channel": f.channel, "summary": f.summary, "status": f.status,
        "department": f.department, "assignee": who.get(f.assignee_id),
        "policy": s.get(m.Policy, f.policy_id).code if f.policy_id else None,
        "claim": s.get(m.Claim, f.claim_id).code if f.claim_id else None,
        "opened_at": f.opened_at, "opened_by": who.get(f.opened_by_id),
        "resolution": f.resolution, "resolved_at": f.resolved_at,
        "resolved_by": who.get(f.resolved_by_id), "informed_at": f.informed_at,
        "informed_by": who.get(f.informed_by_id),
    }
    return record, {"timeline": timeline(s, subjects=[f.code])}
