"""Customers: profiles (T1, D1), needs conversations (L1) and credit/risk ratings (K2, K3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select

from insurtrack.domain import models as m
from insurtrack.domain.states import CreditRating, CustomerKind, Department, RiskLevel
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, by_code, next_code, staff_by_code, staff_codes
from insurtrack.privacy import mask_phone
from insurtrack.services.validate import check_email, check_id_number, check_past_date, check_phone

OWNER_DEPARTMENTS = {Department.SALES.value, Department.MANAGER.value}


def get(w: Work, code: str) -> m.Customer:
    return by_code(w.session, m.Customer, code, "customer")


def owner_for(w: Work, owner: str | None) -> m.Staff:
    if owner is None:
        if w.actor.department not in OWNER_DEPARTMENTS:
            raise BadInput("--owner", None, "is required: name the sales person who owns the customer")
        return w.actor
    person = staff_by_code(w.session, owner, field="--owner")
    if person.department not in OWNER_DEPARTMENTS:
        raise BadInput("--owner", owner, f"is in {person.department}; a customer's owner works in sales")
    return person


def _check_unique_id(w: Work, id_number: str | None, exclude: int | None = None) -> None:
    if not id_number:
        return
    q = select(m.Customer.code).where(m.Customer.id_number == id_number)
    if exclude is not None:
        q = q.where(m.Customer.id != exclude)
    other = w.session.execute(q).scalar()
    if other:
        raise Refused(f"customer {other} already has ID number {id_number}")


def add(w: Work, *, kind: CustomerKind, name: str, id_number: str | None = None,
        phone: str | None = None, email: str | None = None, address: str | None = None,
        birth_date: date | None = None, region: str | None = None, source: str | None = None,
        owner: str | None = None, notes: str | None = None, at: datetime | None = None) -> m.Customer:
    """T1: open a customer profile after the first conversation."""
    w.require("customer.add")
    when = w.at(at)
    id_number = check_id_number("--id-number", id_number)
    _check_unique_id(w, id_number)
    field = "--born" if kind == CustomerKind.PERSON else "--founded"
    check_past_date(field, birth_date, when.date())
    customer = m.Customer(
        code=next_code(w.session, "customer"), kind=CustomerKind(kind).value, name=name,
        id_number=id_number, phone=check_phone("--phone", phone), email=check_email("--email", email),
        address=address, birth_date=birth_date, region=region, source=source,
        owner_id=owner_for(w, owner).id, notes=notes, created_at=when, updated_at=w.now(),
    )
    w.session.add(customer)
    w.session.flush()
    w.event("customer.added", customer.code, occurred_at=when, customer_id=customer.id,
            kind=customer.kind, name=name, region=region, source=source, owner=owner or w.actor.code)
    return customer


EDITABLE = ("name", "id_number", "phone", "email", "address", "birth_date", "region", "source",
            "notes")


def edit(w: Work, code: str, *, owner: str | None = None, **changes: Any) -> m.Customer:
    """Change profile fields; the event keeps each field's old and new value."""
    w.require("customer.edit")
    customer = get(w, code)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise BadInput("field", ", ".join(sorted(unknown)), "cannot be edited")
    if "id_number" in changes:
        changes["id_number"] = check_id_number("--id-number", changes["id_number"])
        _check_unique_id(w, changes["id_number"], exclude=customer.id)
    if "phone" in changes:
        changes["phone"] = check_phone("--phone", changes["phone"])
    if "email" in changes:
        changes["email"] = check_email("--email", changes["email"])
    if "birth_date" in changes:
        check_past_date("--born", changes["birth_date"], w.now().date())
    diff: dict[str, Any] = {}
    for key, value in changes.items():
        if getattr(customer, key) != value:
            diff[key] = {"from": getattr(customer, key), "to": value}
            setattr(customer, key, value)
    if owner is not None:
        new_owner = owner_for(w, owner)
        if new_owner.id != customer.owner_id:
            old = staff_codes(w.session, {customer.owner_id})[customer.owner_id]
            diff["owner"] = {"from": old, "to": new_owner.code}
            customer.owner_id = new_owner.id
    if not diff:
        raise Refused(f"nothing to change on customer {customer.code}")
    customer.updated_at = w.now()
    w.event("customer.edited", customer.code, occurred_at=w.now(), customer_id=customer.id,
            changes=diff)
    return customer


def needs(w: Work, code: str, *, needs: str, risk_situation: str | None = None,
          recommended: str | None = None, notes: str | None = None,
          at: datetime | None = None) -> m.NeedsRecord:
    """L1: record a needs conversation: needs, risk situation, products recommended."""
    w.require("customer.needs")
    customer = get(w, code)
    when = w.at(at, not_before=customer.created_at, not_before_what="the customer was added")
    record = m.NeedsRecord(customer_id=customer.id, occurred_at=when, actor_id=w.actor.id,
                           needs=needs, risk_situation=risk_situation, recommended=recommended,
                           notes=notes)
    w.session.add(record)
    w.event("customer.needs", customer.code, occurred_at=when, customer_id=customer.id,
            needs=needs, risk_situation=risk_situation, recommended=recommended)
    return record


def rate(w: Work, code: str, *, rating: CreditRating | None, risk: RiskLevel | None, reason: str,
         at: datetime | None = None) -> m.Customer:
    """K2, K3: set the credit rating and/or risk level, with the reason on record."""
    w.require("customer.rate")
    if rating is None and risk is None:
        raise BadInput("--credit/--risk", None, "give a credit rating, a risk level or both")
    customer = get(w, code)
    when = w.at(at, not_before=customer.created_at, not_before_what="the customer was added")
    before = {"credit": customer.credit_rating, "risk": customer.risk_level}
    if rating is not None:
        customer.credit_rating = CreditRating(rating).value
    if risk is not None:
        customer.risk_level = RiskLevel(risk).value
    customer.rating_reason = reason
    customer.rated_at = when
    customer.updated_at = w.now()
    w.event("customer.rated", customer.code, occurred_at=when, customer_id=customer.id,
            credit=customer.credit_rating, risk=customer.risk_level, reason=reason,
            previous=before)
    return customer


def row_of(c: m.Customer, owner: str, *, reveal: bool = False) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "kind": c.kind,
            "phone": c.phone if reveal else mask_phone(c.phone), "region": c.region,
            "owner": owner, "credit": c.credit_rating, "risk": c.risk_level}


def revealed(w: Work, *, command: str, codes: list[str] | None = None, count: int | None = None,
             what: str = "ID and phone numbers") -> int:
    """Record that the actor saw personal data unmasked (`--reveal`): one event per customer
    shown, in that customer's history; or, for an export, one event with how many records.
    Called in its own writing transaction before the data is shown. Returns the events written."""
    w.require("personal_data.reveal")
    now = w.now()
    if codes is None:
        w.event("personal_data.revealed", command, occurred_at=now, customer_id=None,
                command=command, records=count, fields=what)
        return 1
    rows = w.session.execute(select(m.Customer.id, m.Customer.code)
                             .where(m.Customer.code.in_(set(codes)))).all()
    for cid, code in sorted(rows, key=lambda r: r[1]):
        w.event("personal_data.revealed", code, occurred_at=now, customer_id=cid,
                command=command, records=len(rows), fields=what)
    return len(rows)


LIST_COLUMNS = ["code", "name", "kind", "phone", "region", "owner", "credit", "risk"]


def show(w: Work, code: str, *, reveal: bool = False
         ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The profile, its needs conversations, applications, policies, claims and full timeline
    as they stand in this unit of work (services/profile.py, which `customer show` reads
    without the ORM); ID and phone numbers masked unless `reveal`."""
    from insurtrack.services import profile

    return profile.customer(w, code, reveal=reveal)


def listing(w: Work, *, text: str | None = None, owner: str | None = None,
            risk: RiskLevel | None = None, credit: CreditRating | None = None,
            region: str | None = None, kind: CustomerKind | None = None,
            limit: int = 100, reveal: bool = False) -> list[dict[str, Any]]:
    """Customers matching every filter; `text` matches name, code, phone or ID number. Phone
    numbers are masked unless `reveal` (a permitted role; the caller records it: revealed())."""
    if reveal:
        w.require("personal_data.reveal")
    q = select(m.Customer, m.Staff.code).join(m.Staff, m.Staff.id == m.Customer.owner_id)
    if text:
        t = text.strip()
        # lower() of SQLite (and of PostgreSQL under the C collation) folds ASCII letters only:
        # the text as typed is matched too, so a name is always found by any part of it.
        q = q.where(or_(func.lower(m.Customer.name).contains(t.lower(), autoescape=True),
                        m.Customer.name.contains(t, autoescape=True),
                        m.Customer.code == t.upper(),
                        m.Customer.phone.contains(t, autoescape=True),
                        m.Customer.id_number == t.upper()))
    if owner:
        q = q.where(m.Staff.code == owner)
    if risk:
        q = q.where(m.Customer.risk_level == RiskLevel(risk).value)
    if credit:
        q = q.where(m.Customer.credit_rating == CreditRating(credit).value)
    if region:
        q = q.where(m.Customer.region == region)
    if kind:
        q = q.where(m.Customer.kind == CustomerKind(kind).value)
    q = q.order_by(m.Customer.code)
    if limit:
        q = q.limit(limit)
    return [row_of(c, owner_code, reveal=reveal) for c, owner_code in w.session.execute(q).all()]


