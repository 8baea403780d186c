"""Staff: who works here, in which department, and how to reach them (identity of every change)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import Department
from insurtrack.errors import BadInput, Refused
from insurtrack.services.base import Work, staff_by_code
from insurtrack.services.validate import check_email, check_phone

_LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def add(w: Work, *, code: str, name: str, department: Department, phone: str | None = None,
        email: str | None = None) -> m.Staff:
    """Register a staff member (managers). On an empty store the first one registers
    themselves, and must be a manager: only a manager can add the others."""
    if w.actor is None:
        if Department(department) is not Department.MANAGER:
            raise BadInput("--dept", Department(department).value,
                           "the first staff member must be a manager (only a manager may add "
                           "the others); register yourself with --dept manager")
    else:
        w.require("staff.add")
    if not _LOGIN.match(code or ""):
        raise BadInput("LOGIN", code, "must be letters, digits, '.', '_' or '-' (at most 64)")
    if w.session.execute(select(m.Staff.id).where(m.Staff.code == code)).first():
        raise Refused(f"staff {code!r} already exists")
    person = m.Staff(code=code, name=name, department=Department(department).value,
                     phone=check_phone("--phone", phone), email=check_email("--email", email),
                     active=True, created_at=w.now())
    w.session.add(person)
    w.session.flush()
    if w.actor is None:  # bootstrap: the first staff member is their own actor
        w.actor = person
    w.event("staff.added", code, occurred_at=w.now(), customer_id=None, name=name,
            department=person.department, phone=person.phone, email=person.email)
    return person


def set_active(w: Work, *, code: str, active: bool) -> m.Staff:
    w.require("staff.activate" if active else "staff.deactivate")
    person = staff_by_code(w.session, code, active=False)
    if person.active == active:
        raise Refused(f"staff {code!r} is already {'active' if active else 'deactivated'}")
    if not active and person.id == w.actor.id:
        raise Refused("you cannot deactivate yourself; ask another staff member")
    person.active = active
    w.event("staff.activated" if active else "staff.deactivated", code, occurred_at=w.now(),
            customer_id=None)
    return person


def listing(w: Work, *, department: Department | None = None, include_inactive: bool = False
            ) -> list[dict[str, Any]]:
    q = select(m.Staff).order_by(m.Staff.department, m.Staff.code)
    if department:
        q = q.where(m.Staff.department == Department(department).value)
    if not include_inactive:
        q = q.where(m.Staff.active.is_(True))
    return [row_of(s) for s in w.session.execute(q).scalars()]


def row_of(s: m.Staff) -> dict[str, Any]:
    return {"login": s.code, "name": s.name, "department": s.department, "phone": s.phone,
            "email": s.email, "active": s.active}
