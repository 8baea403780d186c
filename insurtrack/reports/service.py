"""Service-quality report (Q1, Q2, Q4; T6, T8, Q3): SLA compliance, revisit coverage, satisfaction,
feedback resolution and rectification items, in sections.

Definitions (the command's help says the same; tests/reports/test_quality_reports.py checks them):

- As-of instant: the end of the period (the start of the day after --to) or now, whichever is
  earlier. "Open" figures are taken at that instant.
- sla (Q1, Q4), grouped by rule, department, staff (the assignee; a department queue is
  "(none)") or month: closed = follow-ups of every rule (rectification and manual ones included)
  closed as done with closed_at in the period (month: of closed_at); on_time = those not breached
  (done before their deadline), late = breached; compliance_pct = on_time ÷ closed. open_overdue =
  follow-ups open at the as-of instant (opened by then, not done or cancelled by then, not paused
  now) whose deadline had passed by then (month: the month of the deadline; the "(all)" row counts
  them all, deadlines before the period included).
- revisits (T6), same grouping: due = quarterly-revisit follow-ups whose deadline falls in the
  period (not cancelled; month: of the deadline); done = those done by now, done_on_time = done
  before the deadline; coverage_pct = done ÷ due, on_time_coverage_pct = done_on_time ÷ due.
- satisfaction (Q2): revisits that took place in the period, grouped by rule (the rule the
  revisit's kind meets: first_contact → first-contact, quarterly → quarterly-revisit, post_claim
  → post-claim-revisit, ad hoc → "(none)"), department and staff (of who made the revisit) or
  month. rated = revisits with a satisfaction score; average of the scores to 2 decimals;
  promoters score 5, passives 4, detractors 1–3; nps = (promoters − detractors) ÷ rated, percent
  (−100 to 100).
- feedback (T8), one row per kind and a total: opened = feedback opened in the period, then those
  by their current status (open, transferred, resolved, closed); resolved_in_period = feedback
  whose resolved_at falls in the period; median_hours and p90_hours of opened_at → resolved_at
  over those (nearest rank, hours to 2 decimals).
- rectification (Q3), one row per responsible department and a total: open and open_overdue =
  rectification items open at the as-of instant with the deadline after / before it;
  done_on_time and done_late = items closed as done in the period before / after the deadline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, or_, select

from insurtrack.domain import models as m
from insurtrack.domain.states import Department
from insurtrack.errors import BadInput
from insurtrack.reports.common import (
    NONE,
    Period,
    by_position,
    check_by,
    hours_of,
    key,
    median_of,
    micros,
    month_case,
    p90_of,
    rate,
    unindexed,
)
from insurtrack.services.base import Work

BY = ("rule", "department", "staff", "month")
SECTIONS = ("sla", "revisits", "satisfaction", "feedback", "rectification")
CSV_DEFAULT = "sla"
TOTAL = "(all)"
QUARTERLY = "quarterly-revisit"
RECTIFICATION = "rectification"
KIND_RULE = {"first_contact": "first-contact", "quarterly": QUARTERLY,
             "post_claim": "post-claim-revisit"}
FEEDBACK_KINDS = ("complaint", "question", "request")
FEEDBACK_STATUSES = ("open", "transferred", "resolved", "closed")
DEPARTMENTS = tuple(d.value for d in Department)


def columns(section: str) -> list[str]:
    """Each section's columns (a stable contract); sla, revisits and satisfaction lead with the
    --by group."""
    return {
        "sla": ["group", "closed", "on_time", "late", "compliance_pct", "open_overdue"],
        "revisits": ["group", "due", "done", "done_on_time", "coverage_pct", "on_time_coverage_pct"],
        "satisfaction": ["group", "revisits", "rated", "average", "promoters", "passives", "detractors",
                         "nps"],
        "feedback": ["kind", "opened", *FEEDBACK_STATUSES, "resolved_in_period", "median_hours",
                     "p90_hours"],
        "rectification": ["department", "open", "open_overdue", "done_on_time", "done_late"],
    }[section]


def as_of(p: Period, now: datetime) -> datetime:
    """The instant the "open" figures are taken: the period's end or now, whichever is earlier."""
    return min(p.until, now)


def check_section(section: str | None) -> str | None:
    if section is not None and section not in SECTIONS:
        raise BadInput("--section", section, f"the service report's sections are {', '.join(SECTIONS)}")
    return section


def _staff(w: Work) -> dict[int, tuple[str, str]]:
    return {sid: (code, dept) for sid, code, dept in
            w.session.execute(select(m.Staff.id, m.Staff.code, m.Staff.department))}


def _names(by: str, p: Period, groups: dict[str, Any]) -> list[str]:
    if by == "month":
        return [*p.months(), TOTAL]
    return [*sorted(g for g in groups if g != TOTAL), TOTAL]


_COLUMN = {"rule": m.FollowUp.rule, "department": m.FollowUp.department,
           "staff": m.FollowUp.assignee_id}


def _tally(w: Work, p: Period, by: str, staff: dict[int, tuple[str, str]], when: Any,
           extras: Sequence[Any], where: Sequence[Any]) -> list[tuple]:
    """(group, *extras, count) of the follow-ups matching `where`, counted by SQL: by rule,
    department, staff, or the local month of `when` (None for an instant outside the period:
    such rows count in the "(all)" row only)."""
    run = w.session.connection().execute
    if by == "month":
        col = _month(when, p)
        name = lambda v: v  # noqa: E731
    else:
        col = _COLUMN[by]
        name = (lambda v: staff[v][0] if v in staff else NONE) if by == "staff" else key
    return [(name(v), *vals) for v, *vals in run(
        select(col, *extras, func.count()).where(*where)
        .group_by(*by_position(1 + len(extras))))]


def _month(when: Any, p: Period) -> Any:
    """SQL: the local month (YYYY-MM) of the instant in `when`, NULL outside the period."""
    return case((when < p.since, None), (when >= p.until, None), else_=month_case(when, p))


def _open_at(at: datetime, now: datetime) -> list[Any]:
    """Follow-ups open at `at` (opened by then, not done or cancelled by then, not paused now)."""
    f = m.FollowUp
    if at >= now:  # the present: the (status, due_at) index answers it
        return [f.status == "open"]
    return [f.opened_at <= at, f.status != "paused", or_(f.closed_at.is_(None), f.closed_at > at)]


def sla(w: Work, p: Period, *, by: str = "rule", now: datetime,
        staff: dict | None = None) -> list[dict[str, Any]]:
    w.require("report.service")
    by = check_by(by, BY, "service") or "rule"
    staff = _staff(w) if staff is None else staff
    at = as_of(p, now)
    f = m.FollowUp
    g: dict[str, dict[str, int]] = defaultdict(lambda: {"closed": 0, "on_time": 0, "open_overdue": 0})
    # (closed in the period: read through closed_at, the state checked in the same index entry)
    for name, breached, n in _tally(w, p, by, staff, f.closed_at, [f.breached],
                                    [f.closed_at >= p.since, f.closed_at < p.until,
                                     unindexed(f.status) == "done"]):
        for x in (g[name], g[TOTAL]):
            x["closed"] += n
            x["on_time"] += 0 if breached else n
    for name, n in _tally(w, p, by, staff, f.due_at, [], [*_open_at(at, now), f.due_at < at]):
        g[name]["open_overdue"] += n
        g[TOTAL]["open_overdue"] += n
    out = []
    for name in _names(by, p, g):
        x = g[name]
        out.append({"group": name, "closed": x["closed"], "on_time": x["on_time"],
                    "late": x["closed"] - x["on_time"], "compliance_pct": rate(x["on_time"], x["closed"]),
                    "open_overdue": x["open_overdue"]})
    return out


def revisits(w: Work, p: Period, *, by: str = "rule", staff: dict | None = None) -> list[dict[str, Any]]:
    by = check_by(by, BY, "service") or "rule"
    staff = _staff(w) if staff is None else staff
    f = m.FollowUp
    g: dict[str, dict[str, int]] = defaultdict(lambda: {"due": 0, "done": 0, "on_time": 0})
    if by == "rule":
        g[QUARTERLY]
    for name, status, breached, n in _tally(
            w, p, by, staff, f.due_at, [f.status, f.breached],
            [f.rule == QUARTERLY, f.due_at >= p.since, f.due_at < p.until, f.status != "cancelled"]):
        for x in (g[name], g[TOTAL]):
            x["due"] += n
            x["done"] += n if status == "done" else 0
            x["on_time"] += n if status == "done" and not breached else 0
    return [{"group": name, "due": g[name]["due"], "done": g[name]["done"],
             "done_on_time": g[name]["on_time"], "coverage_pct": rate(g[name]["done"], g[name]["due"]),
             "on_time_coverage_pct": rate(g[name]["on_time"], g[name]["due"])}
            for name in _names(by, p, g)]


def _average(total: int, n: int) -> Decimal | None:
    if not n:
        return None
    return (Decimal(total) / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def satisfaction(w: Work, p: Period, *, by: str = "rule", staff: dict | None = None) -> list[dict[str, Any]]:
    by = check_by(by, BY, "service") or "rule"
    staff = _staff(w) if staff is None else staff
    r_ = m.Revisit
    run = w.session.connection().execute
    period = [r_.occurred_at >= p.since, r_.occurred_at < p.until]
    if by == "month":
        tallies = list(run(select(month_case(r_.occurred_at, p), r_.satisfaction, func.count())
                           .where(*period).group_by(*by_position(2))))
    else:
        col = r_.kind if by == "rule" else r_.actor_id
        if by == "rule":
            name = lambda v: KIND_RULE.get(v, NONE)  # noqa: E731
        else:
            pick = 1 if by == "department" else 0
            name = lambda v: staff[v][pick] if v in staff else NONE  # noqa: E731
        tallies = [(name(v), score, n) for v, score, n in run(
            select(col, r_.satisfaction, func.count()).where(*period).group_by(*by_position(2)))]
    g: dict[str, dict[str, int]] = defaultdict(
        lambda: {"revisits": 0, "rated": 0, "sum": 0, "pro": 0, "pas": 0, "det": 0})
    for name, score, n in tallies:
        for x in (g[name], g[TOTAL]):
            x["revisits"] += n
            if score is None:
                continue
            x["rated"] += n
            x["sum"] += score * n
            x["pro" if score == 5 else "pas" if score == 4 else "det"] += n
    return [{"group": name, "revisits": x["revisits"], "rated": x["rated"],
             "average": _average(x["sum"], x["rated"]), "promoters": x["pro"], "passives": x["pas"],
             "detractors": x["det"], "nps": rate(x["pro"] - x["det"], x["rated"])}
            for name in _names(by, p, g) for x in (g[name],)]


def feedback(w: Work, p: Period) -> list[dict[str, Any]]:
    fb = m.Feedback
    g: dict[str, dict[str, Any]] = defaultdict(lambda: {"opened": 0, "hours": Counter(),
                                                        **{s: 0 for s in FEEDBACK_STATUSES}})
    run = w.session.connection().execute
    for kind, status, count in run(select(fb.kind, fb.status, func.count()).where(
            fb.opened_at >= p.since, fb.opened_at < p.until).group_by(fb.kind, fb.status)):
        for n in (kind, TOTAL):
            g[n]["opened"] += count
            g[n][status] = g[n].get(status, 0) + count
    for kind, us, count in run(select(fb.kind, micros(fb.opened_at, fb.resolved_at), func.count())
                               .where(fb.resolved_at >= p.since, fb.resolved_at < p.until)
                               .group_by(*by_position(2))):
        for n in (kind, TOTAL):
            g[n]["hours"][hours_of(us)] += count
    names = [*FEEDBACK_KINDS, *sorted(k for k in g if k not in FEEDBACK_KINDS and k != TOTAL), TOTAL]
    return [{"kind": n, "opened": g[n]["opened"], **{s: g[n][s] for s in FEEDBACK_STATUSES},
             "resolved_in_period": sum(g[n]["hours"].values()),
             "median_hours": median_of(g[n]["hours"]), "p90_hours": p90_of(g[n]["hours"])}
            for n in names]


def rectification(w: Work, p: Period, *, now: datetime) -> list[dict[str, Any]]:
    at = as_of(p, now)
    f = m.FollowUp
    g: dict[str, dict[str, int]] = defaultdict(
        lambda: {"open": 0, "open_overdue": 0, "done_on_time": 0, "done_late": 0})
    overdue = case((f.due_at < at, 1), else_=0)
    for dept, late, n in _tally(w, p, "department", {}, f.due_at, [overdue],
                                [f.rule == RECTIFICATION, *_open_at(at, now)]):
        for x in (g[dept], g[TOTAL]):
            x["open_overdue" if late else "open"] += n
    for dept, breached, n in _tally(w, p, "department", {}, f.closed_at, [f.breached],
                                    [f.rule == RECTIFICATION, f.status == "done",
                                     f.closed_at >= p.since, f.closed_at < p.until]):
        for x in (g[dept], g[TOTAL]):
            x["done_late" if breached else "done_on_time"] += n
    names = [*DEPARTMENTS, *sorted(k for k in g if k not in DEPARTMENTS and k != TOTAL), TOTAL]
    return [{"department": n, **g[n]} for n in names]


def service(w: Work, p: Period, *, by: str | None = "rule", now: datetime,
            sections: Iterable[str] = SECTIONS) -> dict[str, list[dict[str, Any]]]:
    """The chosen sections, in SECTIONS order."""
    w.require("report.service")
    by = check_by(by, BY, "service") or "rule"
    wanted = set(sections)
    staff = _staff(w)
    make = {
        "sla": lambda: sla(w, p, by=by, now=now, staff=staff),
        "revisits": lambda: revisits(w, p, by=by, staff=staff),
        "satisfaction": lambda: satisfaction(w, p, by=by, staff=staff),
        "feedback": lambda: feedback(w, p),
        "rectification": lambda: rectification(w, p, now=now),
    }
    return {name: make[name]() for name in SECTIONS if name in wanted}


def chart_series(monthly: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, list]]:
    """Month labels and the compliance series (from sla(by="month")) for cli/chart.bars."""
    months = [r for r in monthly if r["group"] != TOTAL]
    return [r["group"] for r in months], {"compliance %": [r["compliance_pct"] for r in months]}
