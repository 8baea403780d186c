"""`due`: what is due today, at risk, overdue or breached, at any instant; manual follow-ups
(Q3 rectification items and whatever no rule covers); explanations of a clock.

The board at the present (or a future) instant reads only open follow-ups, through the
(status, due_at) and (status, warn_at) indexes: its cost follows what is due, not the size of the
book. At a past instant it also reads the follow-ups closed since, and tells each one's clock as it
stood then (its history and pauses), so the same records always give the same picture.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from insurtrack.domain import models as m
from insurtrack.domain.states import Department
from insurtrack.errors import BadInput, NotFound, Refused
from insurtrack.services.base import Work, by_code, staff_by_code, staff_codes
from insurtrack.sla import engine
from insurtrack.sla.board import (  # noqa: F401  the board's reads, for the commands and notify
    BOARD_COLUMNS,
    CANCELLED,
    DONE,
    LIVE,
    MACHINE_COLUMNS,
    MANUAL_RULES,
    OPEN,
    PAUSED,
    STATES,
    _customer_codes,
    _source,
    _title,
    board,
    candidates,
    forecast,
    local_deadline,
    state_at,
    summary,
)

_TICK = timedelta(microseconds=1)


def follow_up(w: Work, ident: str | int) -> m.FollowUp:
    raw = str(ident).strip().lstrip("#")
    if not raw.isascii() or not raw.isdigit():
        raise BadInput("ID", ident, "is not a follow-up number (e.g. 12 or #12; see `insurtrack due`)")
    # ids are 32-bit integers in the store: a larger number names no follow-up
    f = w.session.get(m.FollowUp, int(raw)) if int(raw) < 2**31 else None
    if f is None:
        raise NotFound("follow-up", f"#{raw}")
    return f


# -- manual follow-ups ---------------------------------------------------------------------------

def add(w: Work, *, title: str, due: datetime, department: Department | None = None,
        assignee: str | None = None, about: str | None = None, note: str | None = None,
        rectification: bool = False, cause: str | None = None, measure: str | None = None,
        warn_before: timedelta | None = None) -> m.FollowUp:
    """A follow-up no rule covers, or a Q3 rectification item (cause, measure, responsible
    department, deadline; its effect followed up when it is closed)."""
    w.require("followup.add")
    now = w.now()
    if due <= now:
        raise BadInput("--by", w.show(due), "is not in the future")
    person = staff_by_code(w.session, assignee, field="--to") if assignee else None
    if department is None and person is None:
        raise BadInput("--dept/--to", None, "say who owns it: a department, a person or both")
    dept = Department(department).value if department else person.department
    if rectification and not (cause and measure):
        raise BadInput("--cause/--measure", None, "a rectification item (Q3) needs its cause and measure")
    subject, customer_id = "", None
    if about:
        subject, customer_id = _about(w, about)
    f = m.FollowUp(rule="rectification" if rectification else "manual", rule_fp="",
                   kind="rectification" if rectification else "manual", subject=subject,
                   customer_id=customer_id, department=dept, assignee_id=person and person.id,
                   title=title, note=_note(note, cause, measure), status=OPEN, opened_at=now,
                   started_at=now, due_at=due, pauses=[], history=[])
    warn = due - warn_before if warn_before else None
    engine.set_clock(f, due, warn if warn and warn > now else None, now)
    w.session.add(f)
    w.session.flush()
    ev = w.event("followup.added", f"FU-{f.id}", occurred_at=now, customer_id=customer_id,
                 title=title, department=dept, assignee=assignee, due=due, about=subject or None,
                 rectification=rectification or None, cause=cause, measure=measure, note=note)
    w.session.flush()  # the event's id (Work.event flushes only when a rule names the event)
    f.opened_by_event_id = ev.id
    return f


def _note(note: str | None, cause: str | None, measure: str | None) -> str | None:
    parts = [f"cause: {cause}" if cause else "", f"measure: {measure}" if measure else "", note or ""]
    return "\n".join(p for p in parts if p) or None


_ABOUT = {"C": (m.Customer, "customer"), "A": (m.Application, "application"),
          "P": (m.Policy, "policy"), "CL": (m.Claim, "claim"), "F": (m.Feedback, "feedback"),
          "R": (m.Revisit, "revisit")}


def _about(w: Work, code: str) -> tuple[str, int | None]:
    code = code.strip().upper()
    prefix = code.split("-", 1)[0]
    if prefix not in _ABOUT:
        raise BadInput("--about", code, "is not a record code (C-…, A-…, P-…, CL-…, F-…, R-…)")
    model, kind = _ABOUT[prefix]
    row = by_code(w.session, model, code, kind)
    return row.code, row.id if model is m.Customer else row.customer_id


def done(w: Work, ident: str, *, note: str | None = None) -> m.FollowUp:
    """Mark a follow-up met (a cadence then opens its next occurrence)."""
    f = follow_up(w, ident)
    w.require("followup.done", department=f.department, assignee_id=f.assignee_id,
              about=f"#{f.id}")
    if f.status not in LIVE:
        raise Refused(f"follow-up #{f.id} is already {f.status}; allowed steps: none")
    now = w.now()
    ev = w.event("followup.done", f"FU-{f.id}", occurred_at=now, customer_id=f.customer_id,
                 rule=f.rule, about=f.subject or None, note=note)
    w.session.flush()  # the event's id, for closed_by_event_id / opened_by_event_id
    engine.close(w, f, DONE, at=now, note=note or "done by hand", event=ev)
    rule = w.settings.rulebook.get(f.rule)
    if rule is not None and rule.repeat_every is not None:
        nxt = m.FollowUp(rule=f.rule, rule_fp=engine.fingerprint(rule), kind=f.kind,
                         subject=f.subject, anchor_ref=f.anchor_ref, anchor_date=f.anchor_date,
                         occurrence=f.occurrence + 1, customer_id=f.customer_id,
                         department=f.department, assignee_id=f.assignee_id, title=f.title,
                         status=OPEN, opened_at=now, started_at=now, due_at=now, pauses=[],
                         history=[], opened_by_event_id=ev.id)
        due, warn = engine.compute(w.settings.calendar, rule, nxt)
        engine.set_clock(nxt, due, warn, now)
        w.session.add(nxt)
    return f


def snooze(w: Work, ident: str, *, until: datetime, reason: str) -> m.FollowUp:
    """Move an open follow-up's deadline later, with the reason on record."""
    f = follow_up(w, ident)
    w.require("followup.snooze", department=f.department, assignee_id=f.assignee_id,
              about=f"#{f.id}")
    if f.status != OPEN:
        raise Refused(f"cannot snooze follow-up #{f.id}: it is {f.status}; only open ones can be snoozed")
    now = w.now()
    if until <= now:
        raise BadInput("--until", w.show(until), "is not in the future")
    if until <= f.due_at:
        raise BadInput("--until", w.show(until), f"is not after the current deadline ({w.show(f.due_at)})")
    old = f.due_at
    shift = until - old
    warn = f.warn_at + shift if f.warn_at else None
    engine.set_clock(f, until, warn, now)
    w.event("followup.snoozed", f"FU-{f.id}", occurred_at=now, customer_id=f.customer_id,
            rule=f.rule, about=f.subject or None, due_before=old, due_after=until, reason=reason)
    return f


def explain(w: Work, ident: str) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A follow-up's rule, its clock (started, paused intervals, warn, due) and its events."""
    f = follow_up(w, ident)
    rule = w.settings.rulebook.get(f.rule)
    now = w.now()
    who = staff_codes(w.session, {f.assignee_id, f.closed_by_id})
    record: dict[str, Any] = {
        "id": f.id, "rule": f.rule, "source": rule.source if rule else (
            "Q3: rectification item" if f.rule == "rectification" else
            "added by hand" if f.rule == "manual" else "rule no longer in the config"),
        "title": _title(f), "subject": f.subject, "customer": _customer_codes(w, {f.customer_id}).get(f.customer_id, ""),
        "department": f.department, "assignee": who.get(f.assignee_id, ""), "status": f.status,
        "state_now": state_at(w, f, now) or ("upcoming" if f.status == OPEN else f.status),
        "target": _target(rule), "calendar": rule.calendar if rule else "",
        "anchor": f"{rule.anchor} = {f.anchor_date}" if rule and rule.anchor and f.anchor_date else "",
        "occurrence": f.occurrence, "opened_at": f.opened_at, "started_at": f.started_at,
        "warn_at": f.warn_at, "due_at": f.due_at, "due": local_deadline(w, f.due_at),
        "closed_at": f.closed_at,
        "closed_by": who.get(f.closed_by_id, ""), "close_note": f.close_note, "breached": f.breached,
        "note": f.note,
    }
    pauses = [{"paused": datetime.fromisoformat(p0),
               "resumed": datetime.fromisoformat(p1) if p1 else None} for p0, p1 in f.pauses or []]
    history = [{"from": datetime.fromisoformat(s), "due": datetime.fromisoformat(d),
                "warn": datetime.fromisoformat(x) if x else None} for s, d, x in f.history or []]
    ids = [i for i in (f.opened_by_event_id, f.closed_by_event_id) if i]
    events = _events(w, f, ids)
    return record, {"pauses": pauses, "deadline history": history, "events": events}


def _target(rule: Any) -> str:
    if rule is None:
        return ""
    text = f"{rule.target}{' before ' + rule.anchor if rule.before else ''}"
    if rule.repeat_every:
        text += f", then every {rule.repeat_every}"
    if rule.warn_before:
        text += f"; warn {rule.warn_before} before"
    return text


def _events(w: Work, f: m.FollowUp, ids: list[int]) -> list[dict[str, Any]]:
    """The events behind the clock: those that opened and closed it, and every event on its
    subject between, that the rule names (pauses, resumes) — plus the follow-up's own steps."""
    rule = w.settings.rulebook.get(f.rule)
    names = set()
    if rule:
        names = {*rule.start_on, *rule.stop_on, *rule.cancel_on, *rule.pause_on, *rule.resume_on}
    subjects = [s for s in (f.subject, f"FU-{f.id}") if s]
    q = select(m.Event, m.Staff.code).join(m.Staff, m.Staff.id == m.Event.actor_id).where(
        or_(m.Event.id.in_(ids or [-1]),
            m.Event.subject == f"FU-{f.id}",
            (m.Event.subject.in_(subjects) & m.Event.type.in_(names or {""})
             & (m.Event.occurred_at >= f.opened_at)
             & (m.Event.occurred_at <= (f.closed_at or w.now())))))
    out = []
    for ev, actor in w.session.execute(q.order_by(m.Event.occurred_at, m.Event.id)).all():
        role = ("opened" if ev.id == f.opened_by_event_id else
                "closed" if ev.id == f.closed_by_event_id else
                "paused" if rule and ev.type in rule.pause_on else
                "resumed" if rule and ev.type in rule.resume_on else "")
        out.append({"occurred_at": ev.occurred_at, "event": ev.type, "subject": ev.subject,
                    "by": actor, "role": role})
    return out


def sync_rules(w: Work) -> int:
    """Recompute the open follow-ups of rules changed in the config since they were computed."""
    stale = engine.stale_rules(w.session, w.settings.rulebook)
    return engine.recompute(w, stale) if stale else 0


__all__ = ["board", "forecast", "add", "done", "snooze", "explain", "sync_rules",
           "STATES", "BOARD_COLUMNS", "PAUSED", "CANCELLED"]
