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

How: each figure is one query counting in SQL, filtered by its own date column and grouped by a
month CASE on that column, the owner or the (application, product) pairs; only the turnaround
reads its decisions row by row (two instants each) with the info events of those applications.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, case, func, select, type_coerce

from insurtrack.domain import models as m
from insurtrack.domain.states import ApplicationStatus as S
from insurtrack.reports.common import (
    NONE,
    Period,
    by_position,
    check_by,
    days_between,
    key,
    median,
    month_case,
    p90,
    rate,
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
    turnaround: list[float] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)

    def add(self, other: _Group) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


class _Query:
    """The pipeline's queries for one grouping: each figure counted in SQL, grouped by the
    figure's own date (month), the owning sales person (staff) or the application's distinct
    products (product: joined to its (application, product) pairs)."""

    def __init__(self, w: Work, p: Period, by: str | None) -> None:
        self.w, self.p, self.by = w, p, by
        line = m.ApplicationLine
        self.pairs = select(line.application_id, line.product).distinct().subquery()
        self.staff = dict(w.session.execute(select(m.Staff.id, m.Staff.code)).all())

    def rows(self, dated: Any, *columns: Any, source: Any = None, where: tuple = (),
             group: int | None = 0) -> list[tuple[str, tuple]]:
        """(group name, rest of the row) for the applications whose `dated` falls in the period:
        aggregated by the group key and the first `group` columns, or row by row (group=None)."""
        A = m.Application
        source = A.__table__ if source is None else source
        keys: list[Any] = []
        if self.by == "month":
            keys = [month_case(dated, self.p)]
        elif self.by == "staff":
            keys = [A.owner_id]
        elif self.by == "product":
            keys = [self.pairs.c.product]
            source = source.outerjoin(self.pairs, self.pairs.c.application_id == A.id)
        stmt = select(*keys, *columns).select_from(source).where(within(dated, self.p), *where)
        if group is not None and (group or keys):
            stmt = stmt.group_by(*by_position(len(keys) + group))
        return [(self._name(r[0]) if keys else ALL, tuple(r[len(keys):]))
                for r in self.w.session.execute(stmt)]

    def _name(self, value: Any) -> str:
        return key(self.staff.get(value)) if self.by == "staff" else key(value)


def _figures(w: Work, p: Period, by: str | None) -> dict[str, _Group]:
    A, E, P = m.Application, m.Event, m.Policy
    q = _Query(w, p, by)
    groups: dict[str, _Group] = defaultdict(_Group)
    count = func.count()
    for name, (status, n) in q.rows(A.created_at, A.status, count, group=1):
        groups[name].created += n
        groups[name].stages[status] += n
    for name, (n, accepted) in q.rows(
            A.submitted_at, count, func.sum(case((A.decision == "accept", 1), else_=0))):
        groups[name].submitted += n
        groups[name].submitted_accepted += accepted or 0
    for name, (decision, reason, n, issued) in q.rows(
            A.decided_at, A.decision, A.decline_reason, count,
            func.sum(case((A.status == S.ISSUED.value, 1), else_=0)), group=2):
        g = groups[name]
        if decision == "accept":
            g.accepted += n
            g.accepted_issued += issued or 0
        elif decision == "decline":
            g.declined += n
            g.reasons[key(reason and reason.strip())] += n
    for name, (n,) in q.rows(E.occurred_at, count, source=E.__table__.join(A, A.code == E.subject),
                             where=(E.type == "application.withdrawn",)):
        groups[name].withdrawn += n
    for name, (n,) in q.rows(P.issued_at, count,
                             source=P.__table__.join(A, A.id == P.application_id)):
        groups[name].issued += n
    decided = q.rows(A.decided_at, A.code, type_coerce(A.submitted_at, DateTime()),
                     type_coerce(A.decided_at, DateTime()), where=(A.submitted_at.is_not(None),),
                     group=None)
    waits = _waits(w, p)
    for name, (code, submitted, decided_at) in decided:
        groups[name].turnaround.append(
            days_between(submitted + waits.get(code, timedelta(0)), decided_at))
    return groups


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
            .where(within(A.decided_at, p), A.submitted_at.is_not(None), E.type.in_(INFO))
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
        names = sorted((n for n in groups if n != NONE), key=lambda n: (n.casefold(), n))
        names += [NONE] if NONE in groups else []
    if by == "product":
        groups[ALL] = _figures(w, p, None)[ALL]
    else:
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
            "turnaround_median_days": median(g.turnaround),
            "turnaround_p90_days": p90(g.turnaround),
            "decline_reasons": "; ".join(f"{r}: {n}" for r, n in _reasons(g.reasons)) or None,
        })
        rows.append(row)
    return rows


def decline_reasons(w: Work, p: Period, by: str | None = None) -> list[dict[str, Any]]:
    """The declines in the period per group and reason, most frequent first; then "(all)"."""
    by = check_by(by, BY, "pipeline")
    groups, order = _grouped(w, p, by)
    return [{"group": name, "reason": reason, "declined": n}
            for name in order if name in groups
            for reason, n in _reasons(groups[name].reasons)]
