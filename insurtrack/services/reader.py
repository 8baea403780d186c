"""A read-only unit of work without the ORM, for the hot read paths (the `due` board): the open
connection, who acts, the clock and the configuration. The ORM's `Work` (services/base.py) is
this plus a session and the steps that write.

Who acts is resolved here for both: a known, active staff member (or a clear refusal). The
statements are plain SQL run through store.rows, so that on SQLite they need no SQLAlchemy at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from insurtrack.clock import Clock
from insurtrack.errors import NotPermitted
from insurtrack.store import rows


@dataclass(frozen=True)
class Actor:
    """The acting staff member, as the read paths need them."""

    id: int
    code: str
    department: str


@dataclass(frozen=True)
class StaffRow:
    id: int
    code: str
    department: str
    active: bool


@dataclass
class Reader:
    """A read-only transaction: `session` is a store.LiteConnection, a Core connection or an
    ORM session (store.rows runs a statement on any of them)."""

    session: Any
    actor: Any
    clock: Clock
    settings: Any

    def now(self) -> datetime:
        return self.clock.now()

    def show(self, when: datetime) -> str:
        """An instant as staff read it: local time in the configured timezone."""
        return when.astimezone(self.settings.timezone).strftime("%Y-%m-%d %H:%M %Z")

    def today(self, when: datetime | None = None) -> date:
        """The local calendar day of `when` (default: now) in the configured timezone."""
        return (when or self.now()).astimezone(self.settings.timezone).date()


def staff_member(conn: Any, code: str) -> StaffRow | None:
    """The staff member with this login (code, department, active), or None."""
    found = rows(conn, "SELECT id, code, department, active FROM staff WHERE code = :code",
                 {"code": code})
    if not found:
        return None
    sid, login, department, active = found[0]
    return StaffRow(sid, login, department, bool(active))


def resolve_actor(conn: Any, code: str, source: str) -> Actor:
    """The acting person, who must be a known, active staff member; `source` says where the
    login came from (--as, INSURTRACK_USER, the config, the login name)."""
    row = staff_member(conn, code)
    if row is None:
        if not rows(conn, "SELECT 1 FROM staff LIMIT 1"):
            raise NotPermitted(
                f"no staff are registered yet; add the first one with "
                f"`insurtrack staff add {code or 'LOGIN'} --name NAME --dept manager`")
        raise NotPermitted(f"unknown person {code!r} (from {source}); staff are listed by "
                           "`insurtrack staff list`; act as one with --as or INSURTRACK_USER")
    if not row.active:
        raise NotPermitted(f"{code!r} (from {source}) is deactivated and cannot make changes")
    return Actor(row.id, row.code, row.department)
