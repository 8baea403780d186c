"""A read-only unit of work without the ORM, for the hot read paths (the `due` board): the open
connection, who acts, the clock and the configuration. The ORM's `Work` (services/base.py) is
this plus a session and the steps that write.

Who acts is resolved here for both: a known, active staff member (or a clear refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from insurtrack.clock import Clock
from insurtrack.domain.tables import staff as S
from insurtrack.errors import NotPermitted


@dataclass(frozen=True)
class Actor:
    """The acting staff member, as the read paths need them."""

    id: int
    code: str
    department: str


@dataclass
class Reader:
    """A read-only transaction: `session` is a Core connection (or an ORM session)."""

    session: Any
    actor: Any
    clock: Clock
    settings: Any

    def now(self) -> datetime:
        return self.clock.now()

    def show(self, when: datetime) -> str:
        """An instant as staff read it: local time in the configured timezone."""
        return when.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M %Z")


def staff_member(conn: Any, code: str) -> Any:
    """The staff member with this login (code, department, active), or None."""
    return conn.execute(select(S.c.id, S.c.code, S.c.department, S.c.active)
                        .where(S.c.code == code)).first()


def resolve_actor(conn: Any, code: str, source: str) -> Actor:
    """The acting person, who must be a known, active staff member; `source` says where the
    login came from (--as, INSURTRACK_USER, the config, the login name)."""
    row = staff_member(conn, code)
    if row is None:
        if conn.execute(select(func.count()).select_from(S)).scalar_one() == 0:
            raise NotPermitted(
                f"no staff are registered yet; add the first one with "
                f"`insurtrack staff add {code or 'LOGIN'} --name NAME --dept manager`")
        raise NotPermitted(f"unknown person {code!r} (from {source}); staff are listed by "
                           "`insurtrack staff list`; act as one with --as or INSURTRACK_USER")
    if not row.active:
        raise NotPermitted(f"{code!r} (from {source}) is deactivated and cannot make changes")
    return Actor(row.id, row.code, row.department)
