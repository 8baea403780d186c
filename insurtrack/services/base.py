"""What every service shares: the unit of work, human codes, domain events and look-ups.

A service is one use case: `fn(w, *, ...)`. It validates, checks the state transition, writes its
rows and appends its event through `w` — all inside the one transaction the caller opened
(db.write); it never commits, and never imports typer or rich.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from insurtrack.clock import Clock
from insurtrack.config import Settings
from insurtrack.domain import models as m
from insurtrack.domain import states
from insurtrack.errors import BadInput, NotFound
from insurtrack.services.reader import Reader

T = TypeVar("T", bound=SQLModel)

CODE_PREFIX = {
    "customer": "C",
    "application": "A",
    "policy": "P",
    "claim": "CL",
    "feedback": "F",
    "revisit": "R",
}


@dataclass
class Work(Reader):
    """One unit of work: the open transaction (an ORM session), who acts (their Staff record),
    the clock and the configuration; `now()` and `show()` as the Reader's."""

    session: Session
    actor: m.Staff
    clock: Clock
    settings: Settings

    def __post_init__(self) -> None:
        # the audit trail (insurtrack/audit.py) reads who acts and the time from here
        if self.session is not None:
            self.session.info["insurtrack_work"] = self

    def at(self, when: datetime | None, *, not_before: datetime | None = None,
           not_before_what: str = "") -> datetime:
        """When a step happened: `--at` (never in the future) or now."""
        now = self.clock.now()
        if when is None:
            return now
        if when > now:
            raise BadInput("--at", self.show(when),
                           "is in the future; a step can only be recorded when it has happened")
        if not_before is not None and when < not_before:
            raise BadInput("--at", self.show(when), f"is before {not_before_what} ({self.show(not_before)})")
        return when

    def event(self, type: str, subject: str, *, occurred_at: datetime, customer_id: int | None,
              **payload: Any) -> m.Event:
        """Append a domain event in this transaction (the record of the step and its actor)."""
        ev = m.Event(
            type=type,
            subject=subject,
            customer_id=customer_id,
            occurred_at=occurred_at,
            recorded_at=self.clock.now(),
            actor_id=self.actor.id,
            payload={k: jsonable(v) for k, v in payload.items() if v is not None},
        )
        self.session.add(ev)
        from insurtrack.sla import engine

        engine.on_event(self, ev)  # the clocks move in this same transaction
        return ev

    def require(self, action: str, *, department: str | None = None,
                assignee_id: int | None = None, about: str = "") -> None:
        """Refuse (NotPermitted, exit 5) unless the actor may do `action` (services/permissions.py);
        called by every writing service before it changes anything."""
        from insurtrack.services.permissions import require

        require(self.actor, action, department=department, assignee_id=assignee_id, about=about)

    def step(self, kind: str, record: Any, action: str) -> str:
        """Move `record` along its state machine, or refuse naming its state and allowed steps."""
        new = states.transition(kind, record.status, action, getattr(record, "code", ""))
        record.status = new.value
        return new.value


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def next_code(session: Session, kind: str) -> str:
    """The next human code for `kind` (C-000001…), drawn inside the writing transaction.

    One atomic upsert: the first code of a kind creates its counter, later ones bump it. (An
    UPDATE that found no row followed by an INSERT let two concurrent first writers on PostgreSQL
    both insert, and the second failed on the primary key.) The counter row stays locked until
    the transaction ends, so codes are unique and, as a rolled-back transaction returns its
    number, contiguous."""
    prefix = CODE_PREFIX[kind]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(m.Sequence).values(name=kind, value=1)
    value = session.execute(
        stmt.on_conflict_do_update(index_elements=[m.Sequence.name],
                                   set_={"value": m.Sequence.value + 1})
        .returning(m.Sequence.value)
    ).scalar_one()
    return f"{prefix}-{value:06d}"


def by_code(session: Session, model: type[T], code: str, kind: str) -> T:
    """The record with this code, or NotFound."""
    code = (code or "").strip().upper()
    row = session.execute(select(model).where(model.code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound(kind, code)
    return row


def staff_by_code(session: Session, code: str, *, field: str = "staff", active: bool = True) -> m.Staff:
    """A staff member by login code; inactive ones are refused where they would get new work."""
    row = session.execute(select(m.Staff).where(m.Staff.code == code.strip())).scalar_one_or_none()
    if row is None:
        raise NotFound("staff member", code)
    if active and not row.active:
        raise BadInput(field, code, "is deactivated")
    return row


def staff_codes(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Login codes of staff ids, in one query (for rendering)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(m.Staff.id, m.Staff.code).where(m.Staff.id.in_(wanted)))
    return dict(rows.all())


def resolve_actor(session: Session, code: str, source: str) -> m.Staff:
    """The acting person, who must be a known, active staff member (services/reader.py)."""
    from insurtrack.services import reader

    return session.get(m.Staff, reader.resolve_actor(session, code, source).id)


