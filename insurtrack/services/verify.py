"""Checked entries (D2, K4): a record entered by one person is verified by another.

Who entered a record: the person whose change created its row (the audit trail's insert entry),
else — for rows written before the audit trail existed — the actor of its first event, else the
person the record names (a customer's or application's owner, a claim's handler, a revisit's or
feedback's author). A claim's assessment was entered by its assessor, its payment by whoever
recorded it (`claim pay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.errors import BadInput, NotFound, NotPermitted, Refused
from insurtrack.services.base import Work, staff_by_code


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str
    model: type
    created: str            # when it was entered
    named: str | None       # the person the record names, when nothing better is known


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("customer", "C", m.Customer, "created_at", "owner_id"),
    Kind("application", "A", m.Application, "created_at", "owner_id"),
    Kind("policy", "P", m.Policy, "issued_at", None),
    Kind("claim", "CL", m.Claim, "reported_at", "handler_id"),
    Kind("revisit", "R", m.Revisit, "occurred_at", "actor_id"),
    Kind("feedback", "F", m.Feedback, "opened_at", "opened_by_id"),
)}
BY_PREFIX = {k.prefix: k for k in KINDS.values()}
PARTS = ("record", "assessment", "payment")   # the last two: claims only
CODES = ", ".join(f"{k.prefix}-…" for k in KINDS.values())


def kind_of(code: str) -> tuple[Kind, str]:
    code = (code or "").strip().upper()
    kind = BY_PREFIX.get(code.split("-", 1)[0]) if "-" in code else None
    if kind is None:
        raise NotFound(f"record (codes look like {CODES})", code)
    return kind, code


def _record(w: Work, code: str) -> tuple[Kind, Any]:
    kind, code = kind_of(code)
    row = w.session.execute(select(kind.model).where(kind.model.code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound(kind.name, code)
    return kind, row


def _staff(w: Work, staff_id: int | None) -> m.Staff | None:
    return w.session.get(m.Staff, staff_id) if staff_id is not None else None


def _event_actor(w: Work, code: str, type: str | None = None, *, last: bool = False) -> int | None:
    q = select(m.Event.actor_id).where(m.Event.subject == code)
    if type:
        q = q.where(m.Event.type == type)
    order = ((m.Event.occurred_at.desc(), m.Event.id.desc()) if last
             else (m.Event.occurred_at, m.Event.id))
    return w.session.execute(q.order_by(*order).limit(1)).scalar()


def entered_by(w: Work, kind: Kind, row: Any, part: str = "record") -> m.Staff | None:
    """Who entered the record (or the claim's assessment or payment); see the module docstring."""
    if part == "assessment":
        return _staff(w, row.assessed_by_id)
    if part == "payment":
        return _staff(w, _event_actor(w, row.code, "claim.paid", last=True))
    actor = w.session.execute(
        select(m.AuditEntry.actor).where(m.AuditEntry.table_name == kind.model.__tablename__,
                                         m.AuditEntry.record_id == row.id,
                                         m.AuditEntry.action == "insert")
        .order_by(m.AuditEntry.id).limit(1)).scalar()
    if actor:
        found = w.session.execute(select(m.Staff).where(m.Staff.code == actor)).scalar_one_or_none()
        if found is not None:
            return found
    first = _event_actor(w, row.code)
    if first is not None:
        return _staff(w, first)
    return _staff(w, getattr(row, kind.named)) if kind.named else None


def verify(w: Work, code: str, *, part: str = "record", note: str | None = None) -> m.Verification:
    """D2, K4: mark a record (or a claim's assessment or payment) checked by the acting person,
    who must not be the one who entered it; once only."""
    if part not in PARTS:
        raise BadInput("--part", part, f"must be one of {', '.join(PARTS)}")
    kind, row = _record(w, code)
    if part != "record" and kind.name != "claim":
        article = "an" if part[0] in "aeiou" else "a"
        raise BadInput("--part", part, f"only a claim has {article} {part} to verify ({row.code} "
                       f"is a {kind.name})")
    if part == "assessment" and row.assessed_by_id is None:
        raise Refused(f"claim {row.code} has not been assessed yet: no assessment to verify")
    if part == "payment" and row.paid_at is None:
        raise Refused(f"claim {row.code} has not been paid yet: no payment to verify")
    what = f"{kind.name} {row.code}" if part == "record" else f"the {part} of claim {row.code}"
    done = w.session.execute(select(m.Verification).where(
        m.Verification.kind == kind.name, m.Verification.record_id == row.id,
        m.Verification.part == part)).scalar_one_or_none()
    if done is not None:
        who = _staff(w, done.verified_by_id)
        raise Refused(f"{what} is already verified (by {who.code if who else '?'} on "
                      f"{w.show(done.verified_at)})")
    author = entered_by(w, kind, row, part)
    if author is not None and author.id == w.actor.id:
        raise NotPermitted(f"cannot verify {what}: {author.code} entered it, and a record is "
                           "checked by a second person (D2)")
    now = w.now()
    v = m.Verification(kind=kind.name, record_id=row.id, code=row.code, part=part,
                       entered_by_id=author.id if author else None, verified_by_id=w.actor.id,
                       verified_at=now, note=note)
    w.session.add(v)
    customer_id = row.id if kind.name == "customer" else row.customer_id
    w.event(f"{kind.name}.verified", row.code, occurred_at=now, customer_id=customer_id,
            part=part if part != "record" else None,
            entered_by=author.code if author else None, note=note)
    return v


UNVERIFIED_COLUMNS = ["kind", "code", "part", "entered_by", "entered_at", "age_days"]


def unverified(w: Work, *, kinds: list[str] | None = None, part: str = "record",
               entered_by_code: str | None = None, older_than_days: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """Records (or claims' assessments / payments) nobody has verified yet, oldest first:
    the office manager's list of what still needs a second look (D2, K4)."""
    if part not in PARTS:
        raise BadInput("--part", part, f"must be one of {', '.join(PARTS)}")
    names = kinds or list(KINDS)
    for name in names:
        if name not in KINDS:
            raise BadInput("--kind", name, f"must be one of {', '.join(KINDS)}")
    if part != "record":
        names = ["claim"]
    person = staff_by_code(w.session, entered_by_code, field="--entered-by", active=False) \
        if entered_by_code else None
    now = w.now()
    cutoff = now - timedelta(days=older_than_days) if older_than_days is not None else None
    out: list[dict[str, Any]] = []
    for name in names:
        out += _unverified(w, KINDS[name], part, person, cutoff, limit)
    out.sort(key=lambda r: (r["entered_at"], r["code"]))
    if limit:
        out = out[:limit]
    for r in out:
        r["age_days"] = (now - r["entered_at"]).days
    return out


def _unverified(w: Work, kind: Kind, part: str, person: m.Staff | None, cutoff: datetime | None,
                limit: int) -> list[dict[str, Any]]:
    model, V, A = kind.model, m.Verification, m.AuditEntry
    if part == "record":
        when = getattr(model, kind.created)
        by_audit = (select(A.actor).where(A.table_name == model.__tablename__,
                                          A.record_id == model.id, A.action == "insert")
                    .order_by(A.id).limit(1).scalar_subquery())
        first_event = (select(m.Event.actor_id).where(m.Event.subject == model.code)
                       .order_by(m.Event.occurred_at, m.Event.id).limit(1).scalar_subquery())
        named = getattr(model, kind.named) if kind.named else literal(None)
        by_id = func.coalesce(first_event, named)
    else:
        if part == "assessment":  # (a claim keeps no assessment time: its report's)
            when = model.reported_at
            by_audit = literal(None)
            by_id = model.assessed_by_id
        else:
            when = model.paid_at
            by_audit = literal(None)
            by_id = (select(m.Event.actor_id).where(m.Event.subject == model.code,
                                                    m.Event.type == "claim.paid")
                     .order_by(m.Event.occurred_at.desc(), m.Event.id.desc()).limit(1)
                     .scalar_subquery())
    S = aliased(m.Staff)
    who = func.coalesce(by_audit, S.code)
    q = (select(model.code, when.label("entered_at")).select_from(model)
         .outerjoin(V, and_(V.kind == kind.name, V.record_id == model.id, V.part == part))
         .where(V.id.is_(None)))
    if part == "assessment":
        q = q.where(model.assessed_by_id.is_not(None))
    elif part == "payment":
        q = q.where(model.paid_at.is_not(None))
    if cutoff is not None:
        q = q.where(when < cutoff)
    if person is not None:  # who entered each is worked out for every candidate
        q = q.outerjoin(S, S.id == by_id).where(who == person.code)
    q = q.order_by(when, model.code)
    if limit:
        q = q.limit(limit)
    found = w.session.execute(q).all()
    # who entered them: for the rows shown only (a look-up or two each, through indexes)
    names: dict[str, str | None] = {}
    codes = [code for code, _ in found]
    for i in range(0, len(codes), 500):
        names.update(w.session.execute(
            select(model.code, who).select_from(model).outerjoin(S, S.id == by_id)
            .where(model.code.in_(codes[i:i + 500]))).all())
    return [{"kind": kind.name, "code": code, "part": part, "entered_by": names.get(code),
             "entered_at": at, "age_days": None} for code, at in found]
