"""The pipeline report (L2–L5, T4; D4): applications by stage, flows in the period, conversion
rates, underwriting turnaround and decline reasons. Rows only, no I/O (cli/report_business.py
renders them).

Definitions (restated in `insurtrack report pipeline --help`; period and statistics as in
reports/common.py):

- Flows, each placed in the period (and in a month, with --by month) by its own date:
  created by application.created_at, submitted by submitted_at, accepted / declined by decided_at
  (with the decision), withdrawn by the time of its application.withdrawn event, issued by the
  issue time of the policy written from the application (renewals have no application and do
  not count).
- Stages: the applications CREATED in the period, counted by their status now.
- Conversion rates are cohort rates, as of now: submitted→accepted = of the applications
  submitted in the period, the share accepted; accepted→issued = of the applications accepted in
  the period, the share issued; created→issued = of the applications created in the period, the
  share issued. Applications still in progress count in the base.
- Turnaround: for each decision in the period, elapsed calendar days from submitted_at to
  decided_at, EXCLUDING the time the application waited for the customer (from each
  application.info_requested event to the next application.info_received, or to the decision if
  it came first): T4's clock waits while the customer owes documents. Median and p90.
- Decline reasons: the declines in the period counted per reason (the text as recorded, trimmed).
- Groupings: month (of each figure's own date), product (each distinct product among the
  application's lines: an application with two products counts in each), staff (the owning
  sales person, application.owner_id, by login). The last row, "(all)", counts each
  application once, so with --by product it is not the sum of the rows above it.

How: each figure is one query counting in SQL, filtered by its own (indexed) date column and
grouped by a month CASE on that column, the owner or the products of the application's lines;
the turnaround is counted per group and exact elapsed time in SQL too, and only the
applications that waited for the customer (the ones with info events) are read one by one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.domain.states import ApplicationStatus as S
from insurtrack.reports.common import (
    NONE,
    Period,
    by_position,
    check_by,
    days_of,
    key,
    median_of,
    micros,
    month_case,
    p90_of,
    rate,
    unindexed,
    within,
)
from insurtrack.services.base import Work

BY = ("month", "product", "staff")
ALL = "(all)"
STAGES = tuple(s.value for s in S)
COLUMNS = (["group", "created", "submitted", "accepted", "declined", "withdrawn", "issued"]
           + [f"stage_{s}" for s in STAGES]
           + ["submitted_to_accepted_pct", "accepted_to_issued_pct", "created_to_issued_pct",
              "turnaround_median_days", "turnaround_p90_days", "decline_reasons"])
REASON_COLUMNS = ["group", "reason", "declined"]
INFO = ("application.info_requested", "application.info_received")


@dataclass
class _Group:
    created: int = 0
    submitted: int = 0
    accepted: int = 0
    declined: int = 0
    withdrawn: int = 0
    issued: int = 0
    stages: Counter = field(default_factory=Counter)
    submitted_accepted: int = 0
    accepted_issued: int = 0
    turnaround: Counter = field(default_factory=Counter)  # {days: how many decisions}
    reasons: Counter = field(default_factory=Counter)

    def add(self, other: _Group) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def _first_lines(app: Any) -> tuple[Any, Any]:
    """The application's lines, one per product (the first line of each product): (the lines
    table, the ON clause joining them to the application id `app`). An application with two
    lines of one product counts once in that product."""
    L, earlier = m.ApplicationLine, aliased(m.ApplicationLine)
    again = (select(earlier.id).where(earlier.application_id == L.application_id,
                                      earlier.product == L.product, earlier.id < L.id)
             .correlate(L).exists())
    return L, and_(L.application_id == app, ~again)


class _Query:
    """The pipeline's queries for one grouping: each figure counted in SQL, grouped by the
    figure's own date (month), the owning sales person (staff) or the products of the
    application's lines (product: joined to one line per product)."""

    def __init__(self, w: Work, p: Period, by: str | None) -> None:
        self.w, self.p, self.by = w, p, by
        self.staff = dict(w.session.execute(select(m.Staff.id, m.Staff.code)).all())

    def rows(self, dated: Any, *columns: Any, source: Any = None, where: tuple = (),
             group: int | None = 0, app: Any = None) -> list[tuple[str, tuple]]:
        """(group name, rest of the row) for the applications whose `dated` falls in the period:
        aggregated by the group key and the first `group` columns, or row by row (group=None).
        `app` is the application id in `source` when the application table is not in it (it is
        then joined only when the grouping needs its owner)."""
        A = m.Application
        source = A.__table__ if source is None else source
        app = A.id if app is None else app
        keys: list[Any] = []
        if self.by == "month":
            keys = [month_case(dated, self.p)]
        elif self.by == "staff":
            keys = [A.owner_id]
            if app is not A.id:
                source = source.join(A, A.id == app)
        elif self.by == "product":
            L, on = _first_lines(app)
            keys = [L.product]
            source = source.outerjoin(L, on)
        stmt = select(*keys, *columns).select_from(source).where(within(dated, self.p), *where)
        if group is not None and (group or keys):
            stmt = stmt.group_by(*by_position(len(keys) + group))
        return [(self.name(r[0]) if keys else ALL, tuple(r[len(keys):]))
                for r in self.w.session.execute(stmt)]

    def name(self, value: Any) -> str:
        """The group's name for a value of its key (a staff login for an owner id)."""
        return key(self.staff.get(value)) if self.by == "staff" else key(value)


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _figures(w: Work, p: Period, by: str | None) -> dict[str, _Group]:
    """The figures per group; with --by product, "(all)" too (it counts each application once,
    so it is not the sum of the products)."""
    A = m.Application
    q = _Query(w, p, by)
    groups: dict[str, _Group] = defaultdict(_Group)
    if by == "product":
        _product_flows(w, p, groups)
        _event_and_policy_flows(w, p, q, groups)
        _event_and_policy_flows(w, p, _Query(w, p, None), groups)
        return groups
    for name, (status, n) in q.rows(A.created_at, A.status, func.count(), group=1):
        groups[name].created += n
        groups[name].stages[status] += n
    for name, (n, accepted) in q.rows(A.submitted_at, func.count(),
                                      _count_if(A.decision == "accept")):
        groups[name].submitted += n
        groups[name].submitted_accepted += accepted or 0
    for name, (decision, reason, n, issued) in q.rows(
            A.decided_at, A.decision, A.decline_reason, func.count(),
            _count_if(A.status == S.ISSUED.value), group=2):
        g = groups[name]
        if decision == "accept":
            g.accepted += n
            g.accepted_issued += issued or 0
        elif decision == "decline":
            g.declined += n
            g.reasons[key(reason and reason.strip())] += n
    spent = micros(A.submitted_at, A.decided_at)
    for name, (us, n) in q.rows(A.decided_at, spent, func.count(),
                                where=(A.submitted_at.is_not(None),), group=1):
        groups[name].turnaround[days_of(us)] += n
    _event_and_policy_flows(w, p, q, groups)
    return groups


def _event_and_policy_flows(w: Work, p: Period, q: _Query, groups: dict[str, _Group]) -> None:
    """Withdrawn (by the withdrawal event), issued (by the policy's issue time) and the T4 waits
    (by the info events), grouped as `q` groups."""
    A, E, P = m.Application, m.Event, m.Policy
    for name, (n,) in q.rows(E.occurred_at, func.count(),
                             source=E.__table__.join(A, A.code == E.subject),
                             where=(E.type == "application.withdrawn",)):
        groups[name].withdrawn += n
    # Policies written from an application (renewals have none; the foreign key holds that the
    # application exists, so it is joined only for its owner or its lines).
    if q.by in ("product", "staff"):  # counted per application first: then read in id order
        x = (select(P.application_id.label("app"), func.count().label("n"))
             .where(within(P.issued_at, p), P.application_id.is_not(None))
             .group_by(P.application_id).subquery())
        if q.by == "product":
            L, on = _first_lines(x.c.app)
            stmt = select(L.product, func.sum(x.c.n)).select_from(x).outerjoin(L, on)
        else:
            stmt = select(A.owner_id, func.sum(x.c.n)).select_from(x).join(A, A.id == x.c.app)
        for value, n in w.session.execute(stmt.group_by(*by_position(1))):
            groups[q.name(value)].issued += int(n)
    else:
        for name, (n,) in q.rows(P.issued_at, func.count(), source=P.__table__,
                                 where=(P.application_id.is_not(None),), app=P.application_id):
            groups[name].issued += n
    _waited(w, p, q, groups)


def _product_flows(w: Work, p: Period, groups: dict[str, _Group]) -> None:
    """By product, the flows placed by the application's own dates (created, submitted,
    decided: stages, conversions, decisions, decline reasons and turnaround) in one pass over
    the applications in id order with their lines (one per product): looking each
    application's lines up from the date indexes would cost one random lookup per application
    and figure. Grouped by product, elapsed time of a decision in the period, decline reason
    and whether the line is the application's first product (those rows make "(all)", which
    counts each application once); the counts are CASEs over the period of each date."""
    A, earlier = m.Application, aliased(m.ApplicationLine)
    L, on = _first_lines(A.id)
    created, submitted, decided = (within(unindexed(col), p)
                                   for col in (A.created_at, A.submitted_at, A.decided_at))
    timed = and_(decided, A.submitted_at.is_not(None))
    declined = and_(decided, A.decision == "decline")
    accepted = and_(decided, A.decision == "accept")
    first = case((L.id.is_(None), 1),
                 (select(earlier.id).where(earlier.application_id == A.id,
                                           earlier.product < L.product)
                  .correlate(A, L).exists(), 0), else_=1)
    counts = [_count_if(created), *(_count_if(and_(created, A.status == s)) for s in STAGES),
              _count_if(submitted), _count_if(and_(submitted, A.decision == "accept")),
              _count_if(accepted), _count_if(and_(accepted, A.status == S.ISSUED.value)),
              _count_if(declined), _count_if(timed)]
    stmt = (select(L.product, case((timed, micros(A.submitted_at, A.decided_at)), else_=None),
                   case((declined, A.decline_reason), else_=None), first, *counts)
            .select_from(A).outerjoin(L, on).where(or_(created, submitted, decided))
            .group_by(*by_position(4)))
    for product, us, reason, is_first, *counts in w.session.execute(stmt):
        n, *rest = (int(c or 0) for c in counts)
        stages, flows = rest[:len(STAGES)], rest[len(STAGES):]
        sub, sub_acc, acc, acc_issued, dec, timings = flows
        for g in (groups[key(product)], groups[ALL]) if is_first else (groups[key(product)],):
            g.created += n
            for status, k in zip(STAGES, stages):
                g.stages[status] += k
            g.submitted += sub
            g.submitted_accepted += sub_acc
            g.accepted += acc
            g.accepted_issued += acc_issued
            g.declined += dec
            if dec:
                g.reasons[key(reason and reason.strip())] += dec
            if us is not None:
                g.turnaround[days_of(us)] += timings


def _waited(w: Work, p: Period, q: _Query, groups: dict[str, _Group]) -> None:
    """T4: the decisions whose application waited for the customer (few: those with info
    events) move from their elapsed time (counted in SQL) to that time less the wait."""
    A = m.Application
    waits = _waits(w, p)
    if not waits:
        return
    seen = set()
    spent = micros(A.submitted_at, A.decided_at)
    for name, (code, us) in q.rows(A.decided_at, A.code, spent, group=None,
                                   where=(A.submitted_at.is_not(None),
                                          A.code.in_(_info_subjects(p)))):
        wait = waits.get(code, timedelta(0)) // timedelta(microseconds=1)
        if (name, code) in seen or not wait:
            continue
        seen.add((name, code))
        tally = groups[name].turnaround
        tally[days_of(us)] -= 1
        tally[days_of(us - wait)] += 1


def _info_subjects(p: Period) -> Any:
    """SQL: the applications with an info event before the period's end (only those can have
    waited: an event after the decision changes nothing). As an IN list it makes the query
    start from these events (the (type, occurred_at) index), not from every decision."""
    E = m.Event
    return select(E.subject).where(E.type.in_(INFO), E.occurred_at < p.until)


def _waits(w: Work, p: Period) -> dict[str, timedelta]:
    """T4: how long each application decided in the period waited for the customer: from each
    info_requested event to the next info_received, or to the decision if it came first."""
    A, E = m.Application, m.Event
    plain = DateTime()
    steps: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    bounds: dict[str, tuple[datetime, datetime]] = {}
    for code, type_, when, submitted, decided in w.session.execute(
            select(E.subject, E.type, type_coerce(E.occurred_at, plain),
                   type_coerce(A.submitted_at, plain), type_coerce(A.decided_at, plain))
            .join(A, A.code == E.subject)
            .where(within(A.decided_at, p), A.submitted_at.is_not(None), E.type.in_(INFO),
                   A.code.in_(_info_subjects(p)))
            .order_by(E.occurred_at, E.id)):
        steps[code].append((when, type_))
        bounds[code] = (submitted, decided)
    waits = {}
    for code, events in steps.items():
        submitted, decided = bounds[code]
        waited, since = timedelta(0), None
        for when, type_ in events:
            when = min(max(when, submitted), decided)
            if type_ == INFO[0] and since is None:
                since = when
            elif type_ == INFO[1] and since is not None:
                waited += when - since
                since = None
        if since is not None:  # decided while the customer still owed documents
            waited += decided - since
        waits[code] = waited
    return waits


def _grouped(w: Work, p: Period, by: str | None) -> tuple[dict[str, _Group], list[str]]:
    """The groups in report order, then "(all)", which counts each application once: the sum of
    the groups, but with --by product (an application in several products) counted again."""
    groups = _figures(w, p, by)
    if by is None:
        return groups, [ALL]
    if by == "month":
        names = p.months()
    else:
        names = sorted((n for n in groups if n not in (NONE, ALL)), key=lambda n: (n.casefold(), n))
        names += [NONE] if NONE in groups else []
    if by != "product":  # by product, _figures counts "(all)" itself
        total = _Group()
        for name in names:
            total.add(groups.get(name) or _Group())
        groups[ALL] = total
    return groups, names + [ALL]


def _reasons(reasons: Counter) -> list[tuple[str, int]]:
    """Most frequent first, then by reason."""
    return sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0].casefold(), kv[0]))


def pipeline(w: Work, p: Period, by: str | None = None) -> list[dict[str, Any]]:
    """One row per group (see the module docstring for every definition), then "(all)"."""
    w.require("report.pipeline")
    by = check_by(by, BY, "pipeline")
    groups, order = _grouped(w, p, by)
    rows = []
    for name in order:
        g = groups.get(name) or _Group()
        row: dict[str, Any] = {"group": name, "created": g.created, "submitted": g.submitted,
                               "accepted": g.accepted, "declined": g.declined,
                               "withdrawn": g.withdrawn, "issued": g.issued}
        row.update({f"stage_{s}": g.stages[s] for s in STAGES})
        row.update({
            "submitted_to_accepted_pct": rate(g.submitted_accepted, g.submitted),
            "accepted_to_issued_pct": rate(g.accepted_issued, g.accepted),
            "created_to_issued_pct": rate(g.stages[S.ISSUED.value], g.created),
            "turnaround_median_days": median_of(g.turnaround),
            "turnaround_p90_days": p90_of(g.turnaround),
            "decline_reasons": "; ".join(f"{r}: {n}" for r, n in _reasons(g.reasons)) or None,
        })
        rows.append(row)
    return rows


def decline_reasons(w: Work, p: Period, by: str | None = None) -> list[dict[str, Any]]:
    """The declines in the period per group and reason, most frequent first; then "(all)"."""
    w.require("report.pipeline")
    by = check_by(by, BY, "pipeline")
    groups, order = _grouped(w, p, by)
    return [{"group": name, "reason": reason, "declined": n}
            for name in order if name in groups
            for reason, n in _reasons(groups[name].reasons)]
