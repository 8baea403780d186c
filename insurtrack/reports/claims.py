"""The claims report (L7, T9–T12; D4): claims reported, approved, rejected and paid, with their
amounts, the approval rate, first-contact time and cycle times. Rows only, no I/O
(cli/report_business.py renders them).

Definitions (restated in `insurtrack report claims --help`; period and statistics as in
reports/common.py). Each figure places a claim in the period by its own date:

- reported, claimed_amount (sum of amount_claimed), not_contacted: claims whose reported_at falls
  in the period; not_contacted = of those, the ones with no first contact recorded yet.
- approved, approved_amount: claims whose approved_at falls in the period.
- rejected: claims whose rejected_at falls in the period.
- approval_rate_pct: approved ÷ (approved + rejected), decisions in the period.
- paid, paid_amount: claims whose paid_at falls in the period (paid_amount as recorded on the
  claim: for a claim reopened and paid again, the total paid, placed at the last payment).
- first contact (T9), minutes from reported_at to contacted_at, over the claims reported in the
  period that have been contacted: median and p90.
- report→decision, days from reported_at to approved_at or rejected_at, over the decisions in
  the period: median and p90.
- report→paid, days from reported_at to paid_at, over the claims paid in the period: median and
  p90.
- Groupings: month (the local month of each figure's own date: reported amounts in the month of
  the report, paid amounts in the month of payment), product (claim.product, the policy line
  claimed on) and cause (claim.cause). A missing value groups as "(none)". The last row,
  "(all)", is the whole period.

How: each count and sum is one SQL query filtered by its own date column and grouped by a month
CASE on it, the product or the cause; the medians and p90s count each elapsed time (exact
microseconds between the two instants, computed by SQL) per group, so that only the distinct
values are read. Each date column is indexed (migration 0003): a query reads the claims of its
period only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from insurtrack.domain import models as m
from insurtrack.reports.common import (
    NONE,
    ZERO,
    Period,
    by_position,
    check_by,
    days_of,
    key,
    median_of,
    micros,
    minutes_of,
    month_case,
    p90_of,
    rate,
    within,
)
from insurtrack.services.base import Work

BY = ("month", "product", "cause")
ALL = "(all)"
COLUMNS = ["group", "reported", "claimed_amount", "not_contacted", "approved", "approved_amount",
           "rejected", "approval_rate_pct", "paid", "paid_amount",
           "first_contact_median_minutes", "first_contact_p90_minutes",
           "report_to_decision_median_days", "report_to_decision_p90_days",
           "report_to_paid_median_days", "report_to_paid_p90_days"]


@dataclass
class _Group:
    reported: int = 0
    claimed: Decimal = ZERO
    not_contacted: int = 0
    approved: int = 0
    approved_amount: Decimal = ZERO
    rejected: int = 0
    paid: int = 0
    paid_amount: Decimal = ZERO
    contact: Counter = field(default_factory=Counter)  # {minutes: how many claims}
    decision: Counter = field(default_factory=Counter)  # {days: how many claims}
    cycle: Counter = field(default_factory=Counter)


def _groups_of(by: str | None, dated: Any, p: Period) -> list[Any]:
    """The SQL group key of a claim for a figure placed in time by `dated`."""
    C = m.Claim
    return {None: [], "month": [month_case(dated, p)], "product": [C.product],
            "cause": [C.cause]}[by]


def _tally(w: Work, by: str | None, dated: Any, p: Period, *aggregates: Any,
           where: tuple = ()) -> list[tuple[str, tuple]]:
    """(group, aggregates) for the claims `dated` in the period, grouped in SQL."""
    keys = _groups_of(by, dated, p)
    stmt = select(*keys, *aggregates).where(within(dated, p), *where)
    if keys:
        stmt = stmt.group_by(*by_position(len(keys)))
    return [(key(r[0]) if keys else ALL, tuple(r[len(keys):])) for r in w.session.execute(stmt)]


def _elapsed(w: Work, by: str | None, dated: Any, p: Period, start: Any, end: Any,
             how: Callable[[int], float]) -> list[tuple[str, float, int]]:
    """(group, how(microseconds from start to end), how many claims) for the claims `dated` in
    the period with both instants: SQL counts the claims per group and elapsed time, so only
    the distinct values are read."""
    keys = _groups_of(by, dated, p)
    spent = micros(start, end)
    stmt = (select(*keys, spent, func.count())
            .where(within(dated, p), start.is_not(None), end.is_not(None))
            .group_by(*by_position(len(keys) + 1)))
    return [(key(r[0]) if keys else ALL, how(r[-2]), r[-1]) for r in w.session.execute(stmt)]


def claims(w: Work, p: Period, by: str | None = None) -> list[dict[str, Any]]:
    """One row per group (see the module docstring for every definition), then "(all)".

    Counts and amounts are summed in SQL, grouped by the figure's own date (a month CASE on
    that column) or the claim's product or cause; only the instants of the median and p90
    figures are counted per distinct elapsed time. Every grouping puts a claim in one group per figure, so
    "(all)" is the sum of the groups."""
    w.require("report.claims")
    by = check_by(by, BY, "claims")
    C = m.Claim
    groups: dict[str, _Group] = defaultdict(_Group)
    count = func.count()
    for name, (n, claimed, waiting) in _tally(
            w, by, C.reported_at, p, count, func.sum(C.amount_claimed),
            func.sum(case((C.contacted_at.is_(None), 1), else_=0))):
        g = groups[name]
        g.reported += n
        g.claimed += claimed or ZERO
        g.not_contacted += waiting or 0
    for name, (n, amount) in _tally(w, by, C.approved_at, p, count, func.sum(C.approved_amount)):
        groups[name].approved += n
        groups[name].approved_amount += amount or ZERO
    for name, (n,) in _tally(w, by, C.rejected_at, p, count):
        groups[name].rejected += n
    for name, (n, amount) in _tally(w, by, C.paid_at, p, count, func.sum(C.paid_amount)):
        groups[name].paid += n
        groups[name].paid_amount += amount or ZERO
    for name, minutes, n in _elapsed(w, by, C.reported_at, p, C.reported_at, C.contacted_at,
                                     minutes_of):
        groups[name].contact[minutes] += n
    for decided in (C.approved_at, C.rejected_at):
        for name, days, n in _elapsed(w, by, decided, p, C.reported_at, decided, days_of):
            groups[name].decision[days] += n
    for name, days, n in _elapsed(w, by, C.paid_at, p, C.reported_at, C.paid_at, days_of):
        groups[name].cycle[days] += n

    if by is None:
        order = [ALL]
    else:
        if by == "month":
            order = p.months()
        else:
            names = sorted((n for n in groups if n != NONE), key=lambda n: (n.casefold(), n))
            order = names + ([NONE] if NONE in groups else [])
        total = _Group()
        for name in order:
            _add(total, groups.get(name) or _Group())
        groups[ALL] = total
        order.append(ALL)
    return [_row(name, groups.get(name) or _Group()) for name in order]


def _add(total: _Group, g: _Group) -> None:
    for name, value in vars(g).items():
        if isinstance(value, Counter):
            getattr(total, name).update(value)
        else:
            setattr(total, name, getattr(total, name) + value)


def _row(name: str, g: _Group) -> dict[str, Any]:
    return {"group": name, "reported": g.reported, "claimed_amount": g.claimed,
            "not_contacted": g.not_contacted, "approved": g.approved,
            "approved_amount": g.approved_amount, "rejected": g.rejected,
            "approval_rate_pct": rate(g.approved, g.approved + g.rejected),
            "paid": g.paid, "paid_amount": g.paid_amount,
            "first_contact_median_minutes": median_of(g.contact),
            "first_contact_p90_minutes": p90_of(g.contact),
            "report_to_decision_median_days": median_of(g.decision),
            "report_to_decision_p90_days": p90_of(g.decision),
            "report_to_paid_median_days": median_of(g.cycle),
            "report_to_paid_p90_days": p90_of(g.cycle)}


def monthly_amounts(rows: list[dict[str, Any]]) -> tuple[list[str], dict[str, list[Decimal]]]:
    """The chart's series from the rows of claims(by="month")."""
    months = [r for r in rows if r["group"] != ALL]
    return ([r["group"] for r in months],
            {"reported": [r["claimed_amount"] for r in months],
             "paid": [r["paid_amount"] for r in months]})
