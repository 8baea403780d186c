"""The sales report and the buying-tendency report (D4): policies issued and written premium by
month, product, sales person, region, age band and channel; and who buys, by customer segment.
Rows only, no I/O (cli/report_business.py renders them).

Definitions (restated in the commands' --help; period and statistics as in reports/common.py):

- A policy counts when its issue time (policy.issued_at) falls in the period, whatever its
  status now (a policy cancelled later still counts: it was written). New business and renewals
  (policies renewed from an earlier one) both count, and are also shown apart.
- Written premium: the sum of policy.premium of those policies: the YEARLY premium after any
  rate loading (the whole premium for a single-premium policy), not the premium of the whole
  term, and not what has been paid.
- Average premium: written premium ÷ policies, to the cent (half up).
- Customers: distinct customers with a policy counted in the row.
- Groupings: month (local month of the issue time), product (each policy line: the policy counts
  once in each of its products and its premium is split over its lines in proportion to the
  lines' premiums, to the cent, the last line taking the remainder, so that products add up to
  the written premium), staff (the policy's owning sales person, by login), region, age-band
  (the customer's age on the issue date; companies are "company") and channel (customer.source).
  The last row, "(all)", is the whole period.
- Buying tendency: the same policies by customer segment: age-band, region, kind (person or
  company) and buyer: "existing" when the customer had a policy issued before this one (at an
  earlier time, in or before the period, renewals included), else "new". A customer whose
  policies fall in two cells counts in each.

How: every figure is counted and summed in SQL from the indexes of migration 0003 (the issue time
index holds every policy column read). Month, staff: one range over that index. Customer
segments (region, source, kind, age band, buyer): the policies summed per customer first, so
that the customers are joined in id order, once each; a customer's age band is the same all the
period unless they reach a band's age in it, and only those customers' policies (found from
the birth-date index) are placed by their own local issue day; buyers: one probe per customer
for a policy before their first one of the period. Product: the period's policies in id order
with their lines; only the policies of several lines are read, to split their premium.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.reports.common import (
    AGE_BANDS,
    NONE,
    ZERO,
    Period,
    age_band_case,
    by_position,
    check_by,
    key,
    local_day,
    unindexed,
    month_case,
    rate,
    within,
)
from insurtrack.services.base import Work

BY = ("month", "product", "staff", "region", "age-band", "channel")
ALL = "(all)"
COLUMNS = ["group", "policies", "new_business", "renewals", "customers", "written_premium",
           "average_premium"]
SEGMENTS = ("age-band", "region", "kind", "buyer")
TENDENCY_COLUMNS = ["segment", "value", "customers", "policies", "written_premium",
                    "average_premium", "premium_share_pct"]
CENT = Decimal("0.01")


@dataclass
class _Cell:
    """Policies, renewals among them, written premium and distinct customers of one group."""

    policies: int = 0
    renewals: int = 0
    premium: Decimal = ZERO
    customers: int = 0

    def add(self, other: _Cell, sign: int = 1) -> None:
        """Merge a group whose customers are not in this one (e.g. regions '' and none); with
        sign -1, take out a part of this one."""
        self.policies += sign * other.policies
        self.renewals += sign * other.renewals
        self.premium += sign * other.premium
        self.customers += sign * other.customers

    def average(self) -> Decimal | None:
        if not self.policies:
            return None
        return (self.premium / self.policies).quantize(CENT, ROUND_HALF_UP)


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2).quantize(CENT)


def _figures(P: Any) -> tuple[Any, Any, Any]:
    """SQL: policies, renewals among them and written premium (of the rows of P)."""
    return (func.count(), func.sum(case((P.renewed_from_id.is_not(None), 1), else_=0)),
            func.sum(P.premium))


def _cells(w: Work, p: Period, group: Any = None, *, name=key) -> dict[str, _Cell]:
    """The policies issued in the period, counted and summed in SQL, by `group` (an SQL
    expression over the policy) or in all: one range over the issued_at index, which holds
    every column read."""
    P = m.Policy
    keys = [] if group is None else [group]
    stmt = (select(*keys, *_figures(P), func.count(P.customer_id.distinct()))
            .where(within(P.issued_at, p)))
    if keys:
        stmt = stmt.group_by(*by_position(1))
    cells: dict[str, _Cell] = defaultdict(_Cell)
    for row in w.session.execute(stmt):
        n, renewals, premium, customers = row[-4:]
        cells[name(row[0]) if keys else ALL].add(
            _Cell(n, renewals or 0, premium or ZERO, customers))
    return cells


def _per_customer(p: Period, *day: Any) -> Any:
    """SQL (a subquery): the period's policies summed per customer (and per `day` if given),
    with the customer's first issue instant in the period. Grouping first makes the join to
    the customer one ordered pass instead of one random lookup per policy."""
    P = m.Policy
    n, renewals, premium = _figures(P)
    return (select(P.customer_id.label("customer_id"), *(d.label("day") for d in day),
                   n.label("n"), renewals.label("renewals"), premium.label("premium"),
                   func.min(P.issued_at).label("first"))
            .where(within(P.issued_at, p)).group_by(*by_position(1 + len(day))).subquery())


def _sum_cells(w: Work, stmt: Any, name=key) -> dict[str, _Cell]:
    cells: dict[str, _Cell] = defaultdict(_Cell)
    for group, n, renewals, premium, customers in w.session.execute(stmt):
        cells[name(group)].add(_Cell(int(n or 0), int(renewals or 0), premium or ZERO, customers))
    return cells


def _customer_cells(w: Work, p: Period, column: str) -> dict[str, _Cell]:
    """By a customer attribute (region, source or kind): sums per customer joined to it."""
    C, x = m.Customer, _per_customer(p)
    attribute = getattr(C, column)
    stmt = (select(attribute, func.sum(x.c.n), func.sum(x.c.renewals), func.sum(x.c.premium),
                   func.count())
            .select_from(x).join(C, C.id == x.c.customer_id).group_by(*by_position(1)))
    return _sum_cells(w, stmt)


def _crossing(p: Period) -> Any:
    """SQL: the customer (a person with a birth date) changes age band during the period: a
    birthday of a band's lower age falls in it. As age_band counts, a person is N on day d when
    (birth year, month, day) <= (d.year - N, d.month, d.day); the birth dates of those who turn
    N in the period are a range, one per band limit (29 February taken as age_band does)."""
    from datetime import date

    C = m.Customer

    def after(y: int, mo: int, d: int) -> Any:  # birth tuple > (y, mo, d)
        try:
            return C.birth_date > date(y, mo, d)
        except ValueError:  # 29 February of a common year: after it is from 1 March
            return C.birth_date >= date(y, 3, 1)

    def until(y: int, mo: int, d: int) -> Any:  # birth tuple <= (y, mo, d)
        try:
            return C.birth_date <= date(y, mo, d)
        except ValueError:
            return C.birth_date <= date(y, 2, 28)

    s, e = p.start, p.end
    ranges = [and_(after(s.year - n, s.month, s.day), until(e.year - n, e.month, e.day))
              for n, _ in AGE_BANDS[:-1]]
    return and_(C.kind != "company", or_(*ranges))


class _Segments:
    """The period's customers by segment: region, kind, age band and buyer. One query over the
    policies summed per customer (one row per customer, joined in id order) gives region, kind
    and, for most customers, the age band: it is the same all the period unless the customer
    reaches a band's age during it (_crossing); those customers' policies are read apart, each
    by the band of its own issue day."""

    def __init__(self, w: Work, p: Period, *, buyers: bool) -> None:
        C, P, x = m.Customer, m.Policy, _per_customer(p)
        band = case((_crossing(p), None), else_=age_band_case(C.birth_date, C.kind, p.start))
        stmt = (select(C.region, C.kind, band, func.sum(x.c.n), func.sum(x.c.renewals),
                       func.sum(x.c.premium), func.count())
                .select_from(x).join(C, C.id == x.c.customer_id).group_by(*by_position(3)))
        self.regions: dict[str, _Cell] = defaultdict(_Cell)
        self.kinds: dict[str, _Cell] = defaultdict(_Cell)
        self.bands: dict[str, _Cell] = defaultdict(_Cell)
        self.total = total = _Cell()
        for region, kind, band, n, renewals, premium, customers in w.session.execute(stmt):
            cell = _Cell(int(n), int(renewals or 0), premium or ZERO, customers)
            self.regions[key(region)].add(cell)
            self.kinds[key(kind)].add(cell)
            total.add(cell)
            if band is not None:
                self.bands[band].add(cell)
        for label, cell in _crossing_bands(w, p, local_day(P.issued_at, p)).items():
            self.bands[label].add(cell)
        self.buyers = _buyers(w, p, total) if buyers else {}


def _buyers(w: Work, p: Period, total: _Cell) -> dict[str, _Cell]:
    """By buyer: "new" are the policies issued at the first instant of a customer who had no
    policy before it (ties at that instant included); the others of `total` (the period's
    policies, summed per customer) are "existing". Per customer: its first instant in the
    period and one probe for an earlier policy, in customer order; the policies at that instant
    are read for the new customers only."""
    P, earlier = m.Policy, aliased(m.Policy)
    x = _per_customer(p)
    first = (select(x.c.customer_id, x.c.n, x.c.first)
             .where(~select(earlier.id).where(earlier.customer_id == x.c.customer_id,
                                              earlier.issued_at < x.c.first).exists())
             .subquery())
    n, renewals, premium = _figures(P)
    per_customer = (select(first.c.customer_id, first.c.n.label("all"), n.label("n"),
                           renewals.label("renewals"), premium.label("premium"))
                    .select_from(first).join(P, and_(P.customer_id == first.c.customer_id,
                                                     P.issued_at == first.c.first))
                    .group_by(*by_position(2)).subquery())
    y = per_customer.c
    n, renewals, premium, customers, only_new = w.session.execute(
        select(func.sum(y.n), func.sum(y.renewals), func.sum(y.premium), func.count(),
               func.sum(case((y.n == y.all, 1), else_=0)))).one()
    fresh = _Cell(int(n or 0), int(renewals or 0), premium or ZERO, customers)
    old = _Cell(total.policies - fresh.policies, total.renewals - fresh.renewals,
                total.premium - fresh.premium, total.customers - int(only_new or 0))
    return {k: c for k, c in (("new", fresh), ("existing", old)) if c.policies}


def _crossing_bands(w: Work, p: Period, day: Any) -> dict[str, _Cell]:
    """The policies of the customers who reach a band's age during the period (_crossing), by
    the customer's age band on `day` (a date, or the policy's local issue day): read from those
    customers (the birth-date index) to their policies (the (customer, issue time) index)."""
    C, P = m.Customer, m.Policy
    band = age_band_case(C.birth_date, C.kind, day)
    stmt = (select(band, *_figures(P), func.count(P.customer_id.distinct()))
            .select_from(C).join(P, P.customer_id == C.id)
            .where(_crossing(p), within(unindexed(P.issued_at), p)).group_by(*by_position(1)))
    return _sum_cells(w, stmt)


def _age_bands(w: Work, p: Period) -> dict[str, _Cell]:
    """By the customer's age band on the (local) issue date."""
    return _Segments(w, p, buyers=False).bands


def split(premium: Decimal, lines: list[tuple[str, Decimal]]) -> list[tuple[str, Decimal]]:
    """A policy's premium over its lines, in proportion to the lines' premiums, to the cent; the
    last line takes the remainder so that the parts add up exactly."""
    if not lines:
        return [(NONE, premium)]
    base = sum((amount for _, amount in lines), ZERO)
    parts, given = [], ZERO
    for i, (product, amount) in enumerate(lines):
        if i == len(lines) - 1:
            part = premium - given
        else:
            part = (premium * amount / base).quantize(CENT, ROUND_HALF_UP) if base else ZERO
        given += part
        parts.append((key(product), part))
    return parts


def _products(w: Work, p: Period) -> dict[str, _Cell]:
    """By product: each policy once in each of its products, its premium split over its lines.
    SQL counts the policies, renewals and customers per product and sums the premium of the
    policies of one line (most: the whole premium is that product's); only the policies of
    several lines are read, to split their premium. The period's policies are taken in id
    order (grouped by id), so that their lines are read in order too."""
    P, L = m.Policy, m.PolicyLine
    x = (select(P.id, P.customer_id, P.premium, P.renewed_from_id)
         .where(within(P.issued_at, p)).group_by(P.id).subquery())
    other = aliased(m.PolicyLine)
    several = (select(other.id).where(other.policy_id == x.c.id, other.id != L.id)
               .correlate(x, L).exists())
    renewal = case((x.c.renewed_from_id.is_not(None), x.c.id), else_=None)
    single = func.sum(case((~several, x.c.premium), else_=None))
    cells: dict[str, _Cell] = {}
    for product, n, renewals, premium, customers in w.session.execute(
            select(L.product, func.count(x.c.id.distinct()), func.count(renewal.distinct()),
                   single, func.count(x.c.customer_id.distinct()))
            .select_from(x).outerjoin(L, L.policy_id == x.c.id).group_by(*by_position(1))):
        cells[key(product)] = _Cell(n, renewals, premium or ZERO, customers)
    cents: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = w.session.execute(
        select(x.c.id, x.c.premium, L.product, L.premium.label("line_premium"))
        .select_from(x).join(L, L.policy_id == x.c.id).where(several).order_by(x.c.id, L.id))
    for _, lines in groupby(rows, key=lambda r: r.id):
        lines = list(lines)
        for product, part in split(lines[0].premium, [(r.product, r.line_premium) for r in lines]):
            cents[product] += part
    for product, amount in cents.items():
        cells[product].premium += amount
    return cells


def sales(w: Work, p: Period, by: str | None = "month") -> list[dict[str, Any]]:
    """One row per group (see the module docstring for every definition), then "(all)"."""
    w.require("report.sales")
    by = check_by(by, BY, "sales")
    P = m.Policy
    if by == "month":
        cells = _cells(w, p, month_case(P.issued_at, p))
    elif by == "staff":
        staff = dict(w.session.execute(select(m.Staff.id, m.Staff.code)).all())
        cells = _cells(w, p, P.owner_id, name=lambda owner: key(staff.get(owner)))
    elif by in ("region", "channel"):
        cells = _customer_cells(w, p, "region" if by == "region" else "source")
    elif by == "age-band":
        cells = _age_bands(w, p)
    elif by == "product":
        cells = _products(w, p)
    else:
        cells = {}
    cells[ALL] = _cells(w, p)[ALL]
    if by is None:
        order = []
    elif by == "month":
        order = p.months()
    elif by == "age-band":
        order = _age_order(cells)
    else:
        order = _name_order(cells)
    return [_row({"group": name}, cells.get(name) or _Cell()) for name in order + [ALL]]


def _row(head: dict[str, Any], c: _Cell) -> dict[str, Any]:
    return {**head, "policies": c.policies, "new_business": c.policies - c.renewals,
            "renewals": c.renewals, "customers": c.customers, "written_premium": c.premium,
            "average_premium": c.average()}


def _name_order(cells: dict[str, Any]) -> list[str]:
    names = sorted((n for n in cells if n not in (ALL, NONE)), key=lambda n: (n.casefold(), n))
    return names + ([NONE] if NONE in cells else [])


def _age_order(cells: dict[str, Any]) -> list[str]:
    ranked = [label for _, label in AGE_BANDS] + ["company", NONE]
    return [label for label in ranked if label in cells]


def monthly_premium(rows: list[dict[str, Any]]) -> tuple[list[str], list[Decimal]]:
    """The chart's series from the rows of sales(by="month")."""
    months = [r for r in rows if r["group"] != ALL]
    return [r["group"] for r in months], [r["written_premium"] for r in months]


def tendency(w: Work, p: Period, segment: str | None = None) -> list[dict[str, Any]]:
    """Buying tendency (D4): customers, policies and premium per customer segment."""
    w.require("report.tendency")
    segment = check_by(segment, SEGMENTS, "tendency")
    segments = _Segments(w, p, buyers=segment in (None, "buyer"))
    total = segments.total.premium  # every policy of the period, once
    rows = []
    for seg in SEGMENTS if segment is None else (segment,):
        if seg == "age-band":
            cells = segments.bands
            order = _age_order(cells)
        elif seg == "buyer":
            cells = segments.buyers
            order = [v for v in ("new", "existing") if v in cells]
        else:
            cells = segments.regions if seg == "region" else segments.kinds
            order = _name_order(cells)
        for value in order:
            c = cells[value]
            rows.append({"segment": seg, "value": value, "customers": c.customers,
                         "policies": c.policies, "written_premium": c.premium,
                         "average_premium": c.average(),
                         "premium_share_pct": rate(c.premium, total)})
    return rows
