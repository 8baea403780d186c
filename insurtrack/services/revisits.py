"""Revisits of in-force customers (L6): the first contact after a policy takes effect (T5), the
quarterly revisit on changed needs and satisfaction (T6), the revisit after a claim is settled
(T13) and any other contact; satisfaction ratings feed quality monitoring (Q2)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import ClaimStatus, ContactChannel, PolicyStatus, RevisitKind
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, by_code, next_code, staff_by_code
from insurtrack.services.validate import check_satisfaction

SETTLED = {ClaimStatus.PAID.value, ClaimStatus.REJECTED.value, ClaimStatus.CLOSED.value}


def get(w: Work, code: str) -> m.Revisit:
    return by_code(w.session, m.Revisit, code, "revisit")


def linked(w: Work, customer: m.Customer, policy: str | None,
           claim: str | None) -> tuple[m.Policy | None, m.Claim | None]:
    """The policy and claim a contact is about; both must be the customer's, and a claim's
    policy stands in for a policy not named."""
    pol = by_code(w.session, m.Policy, policy, "policy") if policy else None
    cl = by_code(w.session, m.Claim, claim, "claim") if claim else None
    for record, kind in ((pol, "policy"), (cl, "claim")):
        if record is not None and record.customer_id != customer.id:
            raise Refused(f"{kind} {record.code} is not a {kind} of customer {customer.code}")
    if cl is not None:
        if pol is not None and cl.policy_id != pol.id:
            raise Refused(f"claim {cl.code} is not a claim on policy {pol.code}")
        pol = pol or w.session.get(m.Policy, cl.policy_id)
    return pol, cl


def _settled_at(c: m.Claim) -> datetime:
    """When the claim was settled: paid, rejected or closed, whichever came first."""
    return min((t for t in (c.paid_at, c.rejected_at, c.closed_at) if t is not None),
               default=c.reported_at)


def _earliest(w: Work, kind: RevisitKind, customer: m.Customer, pol: m.Policy | None,
              cl: m.Claim | None) -> tuple[datetime, str]:
    """Check the kind's rule (T5, T6, T13); return the earliest moment the revisit can be."""
    added = floor = (customer.created_at, f"customer {customer.code} was added")
    if kind is RevisitKind.FIRST_CONTACT:
        if pol is None:
            raise BadInput("--policy", None, "is required for a first_contact revisit (T5)")
        if pol.in_force_at is None:
            raise Refused(f"policy {pol.code} is {pol.status} and has never been in force: "
                          "a first contact follows the policy taking effect (T5)")
        floor = (pol.in_force_at, f"policy {pol.code} went in force")
    elif kind is RevisitKind.POST_CLAIM:
        if cl is None:
            raise BadInput("--claim", None, "is required for a post_claim revisit (T13)")
        if cl.status not in SETTLED:
            raise Refused(f"claim {cl.code} is {cl.status.replace('_', ' ')}, not settled: a "
                          "post-claim revisit follows payment, rejection or closing (T13)")
        floor = (_settled_at(cl), f"claim {cl.code} was settled")
    elif kind is RevisitKind.QUARTERLY:
        if pol is not None:
            if pol.status != PolicyStatus.IN_FORCE:
                raise Refused(f"policy {pol.code} is {pol.status}, not in force: a quarterly "
                              "revisit is for a policy in force (T6)")
            in_force = [pol]
        else:
            in_force = list(w.session.execute(select(m.Policy).where(
                m.Policy.customer_id == customer.id,
                m.Policy.status == PolicyStatus.IN_FORCE.value)).scalars())
            if not in_force:
                raise Refused(f"customer {customer.code} holds no policy in force: a quarterly "
                              "revisit is for customers in force (T6)")
        first = min(in_force, key=lambda p: p.in_force_at or p.issued_at)
        floor = (first.in_force_at or first.issued_at, f"policy {first.code} went in force")
    return max(floor, added, key=lambda f: f[0])


def log(w: Work, customer: str, *, kind: RevisitKind, channel: ContactChannel,
        policy: str | None = None, claim: str | None = None, satisfaction: int | None = None,
        changed_needs: str | None = None, notes: str | None = None,
        at: datetime | None = None) -> m.Revisit:
    """Record a revisit of a customer (T5, T6, T13) with its satisfaction rating (Q2)."""
    w.require("revisit.log")
    kind, channel = RevisitKind(kind), ContactChannel(channel)
    cust = by_code(w.session, m.Customer, customer, "customer")
    pol, cl = linked(w, cust, policy, claim)
    check_satisfaction("--satisfaction", satisfaction)
    earliest, what = _earliest(w, kind, cust, pol, cl)
    when = w.at(at, not_before=earliest, not_before_what=what)
    revisit = m.Revisit(code=next_code(w.session, "revisit"), customer_id=cust.id,
                        policy_id=pol.id if pol else None, claim_id=cl.id if cl else None,
                        kind=kind.value, channel=channel.value, satisfaction=satisfaction,
                        changed_needs=changed_needs, notes=notes, occurred_at=when,
                        actor_id=w.actor.id)
    w.session.add(revisit)
    w.session.flush()
    w.event(f"revisit.{kind.value}", revisit.code, occurred_at=when, customer_id=cust.id,
            policy=pol.code if pol else None, claim=cl.code if cl else None,
            channel=channel.value, satisfaction=satisfaction, changed_needs=changed_needs)
    return revisit


LIST_COLUMNS = ["code", "at", "customer", "name", "kind", "channel", "policy", "claim",
                "satisfaction", "by"]


def _query():
    return (select(m.Revisit, m.Customer.code, m.Customer.name, m.Policy.code, m.Claim.code,
                   m.Staff.code)
            .join(m.Customer, m.Customer.id == m.Revisit.customer_id)
            .join(m.Staff, m.Staff.id == m.Revisit.actor_id)
            .outerjoin(m.Policy, m.Policy.id == m.Revisit.policy_id)
            .outerjoin(m.Claim, m.Claim.id == m.Revisit.claim_id))


def _row(r: m.Revisit, customer: str, name: str, policy: str | None, claim: str | None,
         by: str) -> dict[str, Any]:
    return {"code": r.code, "at": r.occurred_at, "customer": customer, "name": name,
            "kind": r.kind, "channel": r.channel, "policy": policy, "claim": claim,
            "satisfaction": r.satisfaction, "by": by}


def day_start(w: Work, day: date) -> datetime:
    """The first instant of a local calendar day."""
    return datetime.combine(day, time.min, tzinfo=w.settings.timezone)


def listing(w: Work, *, customer: str | None = None, kind: RevisitKind | None = None,
            by: str | None = None, start: date | None = None, end: date | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Revisits, newest first; `start` and `end` are local dates, both included."""
    if start and end and start > end:
        raise BadInput("--from", start.isoformat(), f"is after --to ({end.isoformat()})")
    q = _query()
    if customer:
        q = q.where(m.Revisit.customer_id == by_code(w.session, m.Customer, customer, "customer").id)
    if kind:
        q = q.where(m.Revisit.kind == RevisitKind(kind).value)
    if by:
        q = q.where(m.Revisit.actor_id == staff_by_code(w.session, by, field="--by", active=False).id)
    if start:
        q = q.where(m.Revisit.occurred_at >= day_start(w, start))
    if end:
        q = q.where(m.Revisit.occurred_at < day_start(w, end + timedelta(days=1)))
    q = q.order_by(m.Revisit.occurred_at.desc(), m.Revisit.id.desc())
    if limit:
        q = q.limit(limit)
    return [_row(*row) for row in w.session.execute(q).all()]


def show(w: Work, code: str) -> dict[str, Any]:
    """One revisit with everything said in it."""
    r = get(w, code)
    row = w.session.execute(_query().where(m.Revisit.id == r.id)).one()
    return {**_row(*row), "changed_needs": r.changed_needs, "notes": r.notes}
