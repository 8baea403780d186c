"""Claims (L7): report (T9), first contact, assessment (T10), documents and site investigations
(T11), review, approval or rejection and payment (T12, PRC Insurance Law arts. 23-24), closing
and reopening."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from insurtrack.domain import models as m
from insurtrack.domain import states
from insurtrack.domain.states import ClaimStatus, Complexity, PaymentMethod
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, by_code, next_code, staff_by_code
from insurtrack.services.validate import check_phone

ZERO = Decimal("0.00")


def get(w: Work, code: str) -> m.Claim:
    return by_code(w.session, m.Claim, code, "claim")


def _when(w: Work, c: m.Claim, at: datetime | None) -> datetime:
    """The step's time: `--at` or now, never before the claim's previous step."""
    last = w.session.execute(
        select(func.max(m.Event.occurred_at)).where(m.Event.subject == c.code)).scalar()
    previous = max(t for t in (c.reported_at, last) if t is not None)
    return w.at(at, not_before=previous, not_before_what=f"the previous step of claim {c.code}")


def _event(w: Work, step: str, c: m.Claim, when: datetime, **payload: Any) -> None:
    w.event(f"claim.{step}", c.code, occurred_at=when, customer_id=c.customer_id, **payload)


def _positive(field: str, amount: Decimal) -> Decimal:
    if amount <= 0:
        raise BadInput(field, str(amount), "must be more than zero")
    return amount


def _cover(w: Work, c: m.Claim) -> tuple[Decimal, str]:
    """T12: the most the claim may pay, and what that limit is."""
    from insurtrack.services.profile import cover

    policy = w.session.get(m.Policy, c.policy_id)
    limit = cover(w.session, policy.id, c.product)
    if c.product:
        return limit, f"the sum insured of {c.product} on policy {policy.code}"
    return limit, f"the sum insured of policy {policy.code}"


def _check_incident(w: Work, policy: m.Policy, incident_at: datetime, reported_at: datetime) -> None:
    shown = w.show(incident_at)
    if incident_at > reported_at:
        raise BadInput("--incident-at", shown, f"is after the report ({w.show(reported_at)})")
    day = incident_at.astimezone(w.settings.timezone).date()
    if not policy.effective_date <= day <= policy.expiry_date:
        raise Refused(f"the incident on {day} is outside the cover of policy {policy.code} "
                      f"({policy.effective_date} to {policy.expiry_date})")
    if policy.in_force_at is None:
        raise Refused(f"policy {policy.code} is {policy.status} and has never been in force "
                      "(its first premium is unpaid): no cover")
    for status, ended in ((states.PolicyStatus.SUSPENDED, policy.suspended_at),
                          (states.PolicyStatus.CANCELLED, policy.cancelled_at)):
        if policy.status == status and ended is not None and incident_at >= ended:
            raise Refused(f"policy {policy.code} was {status} on {w.show(ended)}, "
                          f"before the incident ({shown}): no cover")


def _product(w: Work, policy: m.Policy, product: str | None) -> str | None:
    if product is None:
        return None
    lines = list(w.session.execute(select(m.PolicyLine.product).where(
        m.PolicyLine.policy_id == policy.id).order_by(m.PolicyLine.id)).scalars())
    for line in lines:
        if line.casefold() == product.strip().casefold():
            return line
    raise BadInput("--product", product, f"is not on policy {policy.code} (its lines: {', '.join(lines)})")


def report(w: Work, policy_code: str, *, incident_at: datetime, place: str, circumstances: str,
           amount: Decimal, reporter: str | None = None, reporter_phone: str | None = None,
           product: str | None = None, cause: str | None = None, handler: str | None = None,
           at: datetime | None = None) -> m.Claim:
    """T9: record a claim report at once: time, place and circumstances of the incident."""
    w.require("claim.report")
    policy = by_code(w.session, m.Policy, policy_code, "policy")
    when = w.at(at)
    _check_incident(w, policy, incident_at, when)
    person = staff_by_code(w.session, handler, field="--handler") if handler else w.actor
    c = m.Claim(code=next_code(w.session, "claim"), policy_id=policy.id,
                customer_id=policy.customer_id, handler_id=person.id,
                status=ClaimStatus.REPORTED.value, product=_product(w, policy, product), cause=cause,
                incident_at=incident_at, place=place, circumstances=circumstances,
                reporter_name=reporter, reporter_phone=check_phone("--reporter-phone", reporter_phone),
                amount_claimed=_positive("--amount", amount), reported_at=when)
    w.session.add(c)
    w.session.flush()
    _event(w, "reported", c, when, policy=policy.code, incident_at=incident_at, place=place,
           amount=amount, product=c.product, cause=cause, handler=person.code)
    return c


def contact(w: Work, code: str, *, note: str | None = None, at: datetime | None = None) -> m.Claim:
    """T9: the claimant has been contacted."""
    w.require("claim.contact")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "contact")
    c.contacted_at = when
    _event(w, "contacted", c, when, note=note)
    return c


def assess(w: Work, code: str, *, complexity: Complexity, plan: str,
           at: datetime | None = None) -> m.Claim:
    """T10: classify the case simple or complex and set its investigation plan."""
    w.require("claim.assess")
    c = get(w, code)
    when = _when(w, c, at)
    previous = c.complexity
    w.step("claim", c, "assess")
    c.complexity = Complexity(complexity).value
    c.investigation_plan = plan
    c.assessed_by_id = w.actor.id
    _event(w, "assessed", c, when, complexity=c.complexity, plan=plan,
           previous_complexity=previous if previous != c.complexity else None)
    return c


def _documents(w: Work, c: m.Claim) -> list[m.ClaimDocument]:
    return list(w.session.execute(select(m.ClaimDocument).where(m.ClaimDocument.claim_id == c.id)
                                  .order_by(m.ClaimDocument.id)).scalars())


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


def request_docs(w: Work, code: str, *, docs: list[str], note: str | None = None,
                 at: datetime | None = None) -> list[m.ClaimDocument]:
    """T11: ask the customer to supply or explain documents; the clock waits for them."""
    w.require("claim.request_docs")
    if not docs:
        raise BadInput("--doc", None, "name at least one document")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "request_docs")
    outstanding = {d.name.casefold() for d in _documents(w, c) if d.received_at is None}
    names = _unique(docs)
    for name in names:
        if name.casefold() in outstanding:
            raise Refused(f"document {name!r} is already requested on claim {c.code} and not yet received")
    rows = [m.ClaimDocument(claim_id=c.id, name=name, requested_at=when, note=note) for name in names]
    w.session.add_all(rows)
    _event(w, "docs_requested", c, when, documents=names, note=note)
    return rows


def docs_received(w: Work, code: str, *, docs: list[str] | None = None,
                  at: datetime | None = None) -> m.Claim:
    """T11: documents arrived; once none is outstanding the investigation resumes."""
    w.require("claim.docs_received")
    c = get(w, code)
    states.transition("claim", c.status, "docs_received", c.code)
    when = _when(w, c, at)
    outstanding = {d.name.casefold(): d for d in _documents(w, c) if d.received_at is None}
    if docs:
        missing = [n for n in _unique(docs) if n.casefold() not in outstanding]
        if missing:
            raise BadInput("--doc", missing[0], f"is not outstanding on claim {c.code} (outstanding: "
                           f"{', '.join(d.name for d in outstanding.values())})")
        received = [outstanding.pop(n.casefold()) for n in _unique(docs)]
    else:
        received, outstanding = list(outstanding.values()), {}
    for d in received:
        d.received_at = when
    if not outstanding:
        w.step("claim", c, "docs_received")
    _event(w, "docs_received", c, when, received=[d.name for d in received],
           still_outstanding=[d.name for d in outstanding.values()])
    return c


def _investigations(w: Work, c: m.Claim) -> list[m.Investigation]:
    return list(w.session.execute(select(m.Investigation).where(m.Investigation.claim_id == c.id)
                                  .order_by(m.Investigation.id)).scalars())


def investigate(w: Work, code: str, *, assignee: str, instructions: str | None = None,
                at: datetime | None = None) -> m.Investigation:
    """T11: assign a site investigation to a person."""
    w.require("claim.investigate")
    c = get(w, code)
    when = _when(w, c, at)
    person = staff_by_code(w.session, assignee, field="--assignee")
    w.step("claim", c, "investigate")
    number = len(_investigations(w, c)) + 1
    row = m.Investigation(claim_id=c.id, assignee_id=person.id, assigned_at=when,
                          instructions=instructions)
    w.session.add(row)
    _event(w, "investigation_assigned", c, when, investigation=number,
           assignee=person.code, instructions=instructions)
    return row


def findings(w: Work, code: str, *, findings: str, number: int | None = None,
             at: datetime | None = None) -> m.Investigation:
    """T11: record the process and result of a site investigation (number: 1-based)."""
    w.require("claim.findings")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "record_investigation")
    rows = _investigations(w, c)
    if number is None:
        open_ = [i for i, r in enumerate(rows, 1) if r.completed_at is None]
        if not open_:
            raise Refused(f"claim {c.code} has no site investigation waiting for findings")
        if len(open_) > 1:
            raise BadInput("--investigation", None, "is required: investigations "
                           f"{', '.join(map(str, open_))} of claim {c.code} all wait for findings")
        number = open_[0]
    if not 1 <= number <= len(rows):
        raise BadInput("--investigation", number, f"claim {c.code} has {len(rows)} site investigation(s)")
    row = rows[number - 1]
    if row.completed_at is not None:
        raise Refused(f"investigation {number} of claim {c.code} already has its findings "
                      f"(recorded {w.show(row.completed_at)})")
    row.findings = findings
    row.completed_at = when
    _event(w, "investigation_recorded", c, when, investigation=number, findings=findings)
    return row


def approve(w: Work, code: str, *, amount: Decimal, at: datetime | None = None) -> m.Claim:
    """T12: fix the amount to pay: never above the sum insured, counting earlier payments."""
    w.require("claim.approve")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "approve")
    _positive("--amount", amount)
    waiting = [i for i, r in enumerate(_investigations(w, c), 1) if r.completed_at is None]
    if waiting:
        raise Refused(f"cannot approve claim {c.code}: site investigation "
                      f"{', '.join(map(str, waiting))} has no findings yet")
    limit, what = _cover(w, c)
    paid = c.paid_amount or ZERO
    if amount + paid > limit:
        already = f" plus {paid} already paid" if paid else ""
        raise Refused(f"cannot approve {amount}{already} on claim {c.code}: above {what} ({limit})")
    _second_person(w, c, amount)
    c.approved_amount, c.approved_at, c.approved_by_id = amount, when, w.actor.id
    _event(w, "approved", c, when, amount=amount, claimed=c.amount_claimed, limit=limit,
           already_paid=paid or None)
    return c


def _second_person(w: Work, c: m.Claim, amount: Decimal) -> None:
    """D2, K4: an amount above claims.second_approval_above is approved by someone other than
    the claim's assessor."""
    limit = Decimal(w.settings["claims.second_approval_above"])
    if amount > limit and c.assessed_by_id is not None and c.assessed_by_id == w.actor.id:
        raise Refused(f"cannot approve {amount} on claim {c.code}: it is above "
                      f"claims.second_approval_above ({limit}) and {w.actor.code} assessed the "
                      "claim; someone other than its assessor must approve it")


def reject(w: Work, code: str, *, reason: str, at: datetime | None = None) -> m.Claim:
    """T12: reject, with the reasons the customer is told (PRC Insurance Law art. 24)."""
    w.require("claim.reject")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "reject")
    c.rejection_reason, c.rejected_at = reason, when
    _event(w, "rejected", c, when, reason=reason)
    return c


def pay(w: Work, code: str, *, method: PaymentMethod, reference: str | None = None,
        amount: Decimal | None = None, at: datetime | None = None) -> m.Claim:
    """T12: pay the approved amount (PRC Insurance Law art. 23: within 10 days of agreeing it)."""
    w.require("claim.pay")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "pay")
    if amount is not None and amount != c.approved_amount:
        raise Refused(f"--amount {amount} is not the approved amount of claim {c.code} "
                      f"({c.approved_amount}); pay exactly that")
    c.paid_amount = (c.paid_amount or ZERO) + c.approved_amount
    c.paid_at = when
    c.payment_method, c.payment_reference = PaymentMethod(method).value, reference
    _event(w, "paid", c, when, amount=c.approved_amount, method=c.payment_method,
           reference=reference, total_paid=c.paid_amount)
    return c


def close(w: Work, code: str, *, reason: str | None = None, at: datetime | None = None) -> m.Claim:
    """Close a paid or rejected claim, or withdraw an open one (a reason is then required)."""
    w.require("claim.close")
    c = get(w, code)
    withdraw = "withdraw" in states.allowed("claim", c.status)
    if withdraw and not reason:
        raise BadInput("--reason", None, f"is required to withdraw claim {c.code} "
                       f"(it is {c.status.replace('_', ' ')})")
    when = _when(w, c, at)
    w.step("claim", c, "withdraw" if withdraw else "close")
    c.closed_at, c.close_reason = when, reason
    _event(w, "closed", c, when, reason=reason, withdrawn=withdraw)
    return c


def reopen(w: Work, code: str, *, reason: str, at: datetime | None = None) -> m.Claim:
    """Reopen a closed claim for investigation; the earlier decision stays in its events."""
    w.require("claim.reopen")
    c = get(w, code)
    when = _when(w, c, at)
    w.step("claim", c, "reopen")
    c.approved_amount = c.approved_at = c.approved_by_id = None
    c.rejection_reason = c.rejected_at = None
    c.closed_at = c.close_reason = None
    _event(w, "reopened", c, when, reason=reason, already_paid=c.paid_amount)
    return c


LIST_COLUMNS = ["code", "status", "policy", "customer", "handler", "incident_at", "reported_at",
                "complexity", "claimed", "approved", "paid"]


def listing(w: Work, *, status: ClaimStatus | None = None, policy: str | None = None,
            customer: str | None = None, handler: str | None = None, open_only: bool = False,
            limit: int = 100) -> list[dict[str, Any]]:
    """Claims matching every filter, oldest first; `open_only`: not yet closed."""
    s = w.session
    q = (select(m.Claim, m.Policy.code, m.Customer.code, m.Staff.code)
         .join(m.Policy, m.Policy.id == m.Claim.policy_id)
         .join(m.Customer, m.Customer.id == m.Claim.customer_id)
         .join(m.Staff, m.Staff.id == m.Claim.handler_id))
    if status:
        q = q.where(m.Claim.status == ClaimStatus(status).value)
    if open_only:
        q = q.where(m.Claim.status != ClaimStatus.CLOSED.value)
    if policy:
        q = q.where(m.Claim.policy_id == by_code(s, m.Policy, policy, "policy").id)
    if customer:
        q = q.where(m.Claim.customer_id == by_code(s, m.Customer, customer, "customer").id)
    if handler:
        q = q.where(m.Claim.handler_id == staff_by_code(s, handler, active=False).id)
    q = q.order_by(m.Claim.code)
    if limit:
        q = q.limit(limit)
    return [{"code": c.code, "status": c.status, "policy": pol, "customer": cust, "handler": who,
             "incident_at": c.incident_at, "reported_at": c.reported_at, "complexity": c.complexity,
             "claimed": c.amount_claimed, "approved": c.approved_amount, "paid": c.paid_amount}
            for c, pol, cust, who in s.execute(q).all()]


def show(w: Work, code: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The claim, its documents, site investigations and timeline, as it stands in this unit of
    work (services/profile.py, which `claim show` reads without the ORM)."""
    from insurtrack.services import profile

    return profile.claim(w, code)
