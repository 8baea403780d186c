"""The SLA engine: each domain event opens, pauses, resumes or closes follow-ups, in the same
transaction as the event (called by Work.event), so a clock is never out of step with the
records it watches.

How an event acts on a rule, in this order: cancel_on cancels the rule's live follow-ups for the
record; an anchored rule whose anchor moved (the installment it watched is paid) closes its
follow-up as met; stop_on closes it as met — and a cadence (repeat_every) opens its next
occurrence; pause_on / resume_on stop and restart the clock (the target is extended by the time
paused, measured on the rule's calendar); start_on opens a follow-up unless one is live.

Times: day-granular deadlines fall at the end of the local day, the start day not counted (PRC
Civil Code art. 201); on the business calendar a deadline falling on a day off moves to the next
working day (art. 203). Minute and hour targets are exact instants, in business minutes on the
business calendar.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.sla.board import (  # noqa: F401  shared with the board's reads
    CANCELLED,
    DONE,
    LIVE,
    MANUAL_RULES,
    OPEN,
    PAUSED,
    clock_at,
    fingerprint,
    stale_rules,
)
from insurtrack.sla.rules import Duration, Rule

if TYPE_CHECKING:
    from insurtrack.services.base import Work
    from insurtrack.sla.calendar import WorkCalendar

_TICK = timedelta(microseconds=1)


# -- clock arithmetic (pure) -------------------------------------------------------------------

def _shift(day: date, d: Duration, sign: int) -> date:
    if d.unit == "days":
        return day + timedelta(days=sign * d.amount)
    if d.unit == "weeks":
        return day + timedelta(weeks=sign * d.amount)
    return day + relativedelta(months=sign * d.amount)  # month ends and 29 February clamp


def _back_working(cal: WorkCalendar, day: date, n: int) -> date:
    while n > 0:
        day -= timedelta(days=1)
        if cal.is_working_day(day):
            n -= 1
    return day


def _previous_working(cal: WorkCalendar, day: date) -> date:
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    return day


def add(cal: WorkCalendar, calendar: str, start: datetime, d: Duration, *,
        paused_days: int = 0, paused_seconds: float = 0.0) -> datetime:
    """When `d` has run from `start`, extended by the time the clock was paused."""
    if d.is_time:
        if calendar == "business":
            return cal.add_business_minutes(start, d.minutes + math.ceil(paused_seconds / 60))
        return start + timedelta(minutes=d.minutes, seconds=paused_seconds)
    day = cal.local_date(start)
    if d.unit == "working_days":
        day = cal.add_working_days(day, d.amount + paused_days)
    else:
        day = _shift(day, d, +1) + timedelta(days=paused_days)
        if calendar == "business":
            day = cal.next_working_day(day)
    return cal.end_of_day(day)


def back(cal: WorkCalendar, calendar: str, day: date, d: Duration) -> date:
    """The day `d` before `day` (a reminder N days before a due date)."""
    if d.unit == "working_days":
        return _back_working(cal, day, d.amount)
    if d.is_time:
        return day
    day = _shift(day, d, -1)
    return _previous_working(cal, day) if calendar == "business" else day


def paused_amounts(cal: WorkCalendar, rule: Rule, pauses: list[list[str | None]]) -> tuple[int, float]:
    """How long the closed pauses lasted, in the rule's terms: (days, seconds)."""
    days, seconds = 0, 0.0
    working = rule.target.unit == "working_days" or rule.calendar == "business"
    for p0, p1 in pauses:
        if p1 is None:
            continue
        a, b = datetime.fromisoformat(p0), datetime.fromisoformat(p1)
        if rule.calendar == "business":
            seconds += cal.business_seconds_between(a, b)
        else:
            seconds += (b - a).total_seconds()
        da, db = cal.local_date(a), cal.local_date(b)
        days += cal.working_days_between(da, db) if working else max(0, (db - da).days)
    return days, seconds


def warn_for(cal: WorkCalendar, rule: Rule, due_at: datetime) -> datetime | None:
    w = rule.warn_before
    if not w or not w.amount:
        return None
    if w.is_time:
        return due_at - timedelta(minutes=w.minutes)
    due_day = cal.local_date(due_at - _TICK)
    return cal.end_of_day(back(cal, rule.calendar, due_day, w))


def compute(cal: WorkCalendar, rule: Rule, f: m.FollowUp) -> tuple[datetime, datetime | None]:
    """A follow-up's deadline and warning instant under `rule`, from its start, anchor and pauses."""
    if rule.anchor and f.occurrence == 1 and f.anchor_date is not None:
        if rule.before:
            due = cal.end_of_day(back(cal, rule.calendar, f.anchor_date, rule.target))
        else:
            due = add(cal, rule.calendar, cal.start_of_day(f.anchor_date), rule.target)
            if rule.warn_before is None and rule.target.amount:
                # the record date has passed (an installment unpaid after its due date, T7):
                # at risk from the day after it, not only once the deadline is near
                return due, cal.end_of_day(f.anchor_date)
    else:
        step = rule.target if f.occurrence == 1 or rule.repeat_every is None else rule.repeat_every
        days, seconds = paused_amounts(cal, rule, f.pauses or [])
        due = add(cal, rule.calendar, f.started_at, step, paused_days=days, paused_seconds=seconds)
    return due, warn_for(cal, rule, due)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def set_clock(f: m.FollowUp, due: datetime, warn: datetime | None, since: datetime) -> None:
    """Move the deadline, keeping its history (what `due --now` in the past reads)."""
    if f.history and f.due_at == due and f.warn_at == warn:
        return
    f.due_at, f.warn_at = due, warn
    f.history = [*(f.history or []), [_iso(since), _iso(due), _iso(warn)]]


# -- who owns a follow-up ----------------------------------------------------------------------

_OWNER = {"C": (m.Customer, "owner_id"), "A": (m.Application, "owner_id"),
          "P": (m.Policy, "owner_id"), "CL": (m.Claim, "handler_id"), "F": (m.Feedback, "assignee_id")}


def record_of(session: Any, code: str) -> Any:
    prefix = code.split("-", 1)[0]
    if prefix not in _OWNER:
        return None
    model = _OWNER[prefix][0]
    return session.execute(select(model).where(model.code == code)).scalar_one_or_none()


def route(session: Any, rule: Rule, subject: str) -> tuple[str, int | None]:
    """(department, assignee) for a follow-up of `rule` about `subject`."""
    if rule.assign_to == "queue":
        return rule.department, None
    row = record_of(session, subject)
    if row is None:
        return rule.department, None
    if isinstance(row, m.Feedback):
        return row.department, row.assignee_id
    return rule.department, getattr(row, _OWNER[subject.split("-", 1)[0]][1])


# -- anchors: record dates a clock runs against -------------------------------------------------

def _promised(session: Any, subject: str) -> tuple[str, date] | None:
    app = record_of(session, subject)
    if not isinstance(app, m.Application) or app.promised_date is None:
        return None
    return app.promised_date.isoformat(), app.promised_date


def _next_installment(session: Any, subject: str) -> tuple[str, date] | None:
    policy = record_of(session, subject)
    if not isinstance(policy, m.Policy):
        return None
    row = session.execute(
        select(m.Installment.seq, m.Installment.due_date)
        .where(m.Installment.policy_id == policy.id,
               m.Installment.status.in_(("due", "partially_paid")))
        .order_by(m.Installment.seq).limit(1)).first()
    return (str(row[0]), row[1]) if row else None


def _expiry(session: Any, subject: str) -> tuple[str, date] | None:
    policy = record_of(session, subject)
    if not isinstance(policy, m.Policy) or policy.status != "in_force":
        return None
    return policy.expiry_date.isoformat(), policy.expiry_date


ANCHORS = {"plan.promised_date": _promised, "installment.due_date": _next_installment,
           "policy.expiry_date": _expiry}
# A payload key that names which anchor an event is about (a reminder of installment 3).
ANCHOR_KEYS = {"installment.due_date": "installment"}


# -- reacting to events ------------------------------------------------------------------------

_LINKS = ("policy", "claim", "application", "customer")


class _Event:
    """One event being applied: its record, linked records and customer, looked up once."""

    def __init__(self, w: Work, ev: m.Event) -> None:
        self.w, self.ev, self.session = w, ev, w.session
        self.links = {ev.subject} | {str(ev.payload[k]) for k in _LINKS if ev.payload.get(k)}
        self._customer: str | None = None

    @property
    def customer_code(self) -> str | None:
        if self._customer is None and self.ev.customer_id is not None:
            self._customer = self.session.execute(
                select(m.Customer.code).where(m.Customer.id == self.ev.customer_id)).scalar_one()
        return self._customer

    def subject(self, rule: Rule) -> str | None:
        return self.customer_code if rule.per == "customer" else self.ev.subject

    def live(self, rule: Rule) -> list[m.FollowUp]:
        q = select(m.FollowUp).where(m.FollowUp.rule == rule.name, m.FollowUp.status.in_(LIVE))
        loose = self.ev.subject.startswith("R-") and not ({"policy", "claim"} & self.ev.payload.keys())
        if rule.per == "customer" or loose:
            if self.ev.customer_id is None:
                return []
            q = q.where(m.FollowUp.customer_id == self.ev.customer_id)
        else:
            q = q.where(m.FollowUp.subject.in_(self.links))
        return list(self.session.execute(q.order_by(m.FollowUp.id)).scalars())


def _still_in_force(e: _Event) -> bool:
    if e.ev.customer_id is None:
        return False
    return e.session.execute(select(m.Policy.id).where(
        m.Policy.customer_id == e.ev.customer_id, m.Policy.status == "in_force").limit(1)).first() is not None


def on_event(w: Work, ev: m.Event) -> None:
    """Apply one domain event to every rule that names it (called by Work.event)."""
    rules = w.settings.rulebook.by_event.get(ev.type)
    if not rules and ev.type not in _REROUTE:
        return
    w.session.flush()  # the event's id, for the follow-ups' references
    e = _Event(w, ev)
    for rule in rules or ():
        _apply(e, rule)
    if ev.type in _REROUTE:
        _reroute(e)


def _apply(e: _Event, rule: Rule) -> None:
    ev, t = e.ev, e.ev.type
    live = e.live(rule)
    if t in rule.cancel_on:
        if rule.per == "customer" and _still_in_force(e):
            return  # a per-customer clock ends only with the customer's last policy in force
        for f in live:
            close(e.w, f, CANCELLED, at=ev.occurred_at, note=f"cancelled by {t}", event=ev)
        return
    anchor = None
    if rule.anchor:
        subject = e.subject(rule)
        anchor = ANCHORS[rule.anchor](e.session, subject) if subject else None
        for f in live:
            if anchor is None or f.anchor_ref != anchor[0]:
                close(e.w, f, DONE, at=ev.occurred_at, event=ev,
                      note=f"{rule.anchor} {f.anchor_ref} settled ({t})")
        live = [f for f in live if f.status in LIVE]
    if t in rule.stop_on:
        key = ANCHOR_KEYS.get(rule.anchor)
        for f in live:
            if key and ev.payload.get(key) is not None and str(ev.payload[key]) != f.anchor_ref:
                continue  # a reminder of another installment
            if rule.repeat_every and ev.occurred_at < f.started_at:
                continue  # a cadence cannot be met before its period begins
            close(e.w, f, DONE, at=ev.occurred_at, event=ev, note=t)
            if rule.repeat_every:
                _open(e, rule, f.subject, start=ev.occurred_at, occurrence=f.occurrence + 1,
                      anchor=(f.anchor_ref, f.anchor_date) if f.anchor_ref else None,
                      customer_id=f.customer_id)
        live = [f for f in live if f.status in LIVE]
    if t in rule.pause_on:
        for f in live:
            if f.status == OPEN:
                f.status, f.paused_at = PAUSED, ev.occurred_at
                f.pauses = [*(f.pauses or []), [_iso(ev.occurred_at), None]]
    if t in rule.resume_on and not ev.payload.get("still_outstanding"):
        # a partial receipt (documents still owed, T11) keeps the clock waiting
        for f in live:
            if f.status == PAUSED:
                resume(e.w, rule, f, ev.occurred_at)
    if t in rule.start_on and rule.only_if and not rule.matches(ev.payload):
        # the record no longer qualifies (a simple claim reassessed as complex): its clock ends
        for f in live:
            close(e.w, f, CANCELLED, at=ev.occurred_at, event=ev,
                  note=f"{t}: no longer {', '.join(f'{k} = {v}' for k, v in rule.only_if)}")
        return
    if t in rule.start_on and rule.matches(ev.payload):
        subject = e.subject(rule)
        if subject is None:
            return
        q = select(m.FollowUp.id).where(m.FollowUp.rule == rule.name, m.FollowUp.subject == subject,
                                        m.FollowUp.status.in_(LIVE))
        if e.session.execute(q.limit(1)).first():
            return
        if rule.anchor:
            if anchor is None:
                return
            met = select(m.FollowUp.id).where(
                m.FollowUp.rule == rule.name, m.FollowUp.subject == subject,
                m.FollowUp.anchor_ref == anchor[0], m.FollowUp.status == DONE)
            if e.session.execute(met.limit(1)).first():
                return  # this installment's reminder was already made
        _open(e, rule, subject, start=ev.occurred_at, occurrence=1, anchor=anchor,
              customer_id=ev.customer_id)


def resume(w: Work, rule: Rule, f: m.FollowUp, at: datetime) -> None:
    pauses = [list(p) for p in f.pauses or []]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = _iso(at)
    f.pauses, f.status, f.paused_at = pauses, OPEN, None
    due, warn = compute(w.settings.calendar, rule, f)
    set_clock(f, due, warn, at)


def _open(e: _Event, rule: Rule, subject: str, *, start: datetime, occurrence: int,
          anchor: tuple[str, date] | None, customer_id: int | None) -> m.FollowUp:
    cal = e.w.settings.calendar
    department, assignee = route(e.session, rule, subject)
    started = start
    if anchor and occurrence == 1 and not rule.before and rule.target.amount:
        started = max(start, cal.end_of_day(anchor[1]))  # e.g. overdue from the day after
    f = m.FollowUp(rule=rule.name, rule_fp=fingerprint(rule), kind=rule.kind, subject=subject,
                   anchor_ref=anchor and anchor[0], anchor_date=anchor and anchor[1],
                   occurrence=occurrence, customer_id=customer_id, department=department,
                   assignee_id=assignee, title=rule.description or rule.name, status=OPEN,
                   opened_at=start, started_at=started, pauses=[], history=[],
                   opened_by_event_id=e.ev.id, due_at=start)
    due, warn = compute(cal, rule, f)
    set_clock(f, due, warn, start)
    e.session.add(f)
    return f


def close(w: Work, f: m.FollowUp, status: str, *, at: datetime, note: str | None = None,
          event: m.Event | None = None) -> None:
    if f.status == PAUSED and f.pauses and f.pauses[-1][1] is None:
        f.pauses = [*f.pauses[:-1], [f.pauses[-1][0], _iso(at)]]
    f.status, f.closed_at, f.close_note = status, at, note
    f.closed_by_id = w.actor.id if w.actor is not None else None
    f.closed_by_event_id = event.id if event is not None else None
    f.paused_at = None
    f.breached = at >= f.due_at if status == DONE else None


_REROUTE = frozenset({"feedback.transferred"})


def _reroute(e: _Event) -> None:
    """The record changed hands (feedback transferred): its owner-assigned follow-ups follow.
    The event is written before the record's new holder is set, so the event names it
    (payload `to`, `assignee`)."""
    book = e.w.settings.rulebook
    to, who = e.ev.payload.get("to"), e.ev.payload.get("assignee")
    person = None
    if who:
        person = e.session.execute(
            select(m.Staff.id).where(m.Staff.code == who)).scalar_one_or_none()
    rows = e.session.execute(select(m.FollowUp).where(
        m.FollowUp.subject == e.ev.subject, m.FollowUp.status.in_(LIVE))).scalars()
    for f in rows:
        rule = book.get(f.rule)
        if rule is not None and rule.assign_to == "owner":
            f.department, f.assignee_id = (to, person) if to else route(e.session, rule, f.subject)


# -- rules changed in config -------------------------------------------------------------------

def recompute(w: Work, rules: list[Rule]) -> int:
    """Recompute the live follow-ups of changed rules: deadline, warning, department, assignee."""
    cal, n = w.settings.calendar, 0
    for rule in rules:
        fp = fingerprint(rule)
        rows = w.session.execute(select(m.FollowUp).where(
            m.FollowUp.status.in_(LIVE), m.FollowUp.rule == rule.name,
            m.FollowUp.rule_fp != fp)).scalars().all()
        for f in rows:
            if f.status == OPEN:
                due, warn = compute(cal, rule, f)
                set_clock(f, due, warn, w.now())
            f.department, f.assignee_id = route(w.session, rule, f.subject)
            f.rule_fp, f.kind = fp, rule.kind
            n += 1
    return n
