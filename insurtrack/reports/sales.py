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

How: counts, sums and distinct customers in SQL, grouped by a month CASE on issued_at, the owner,
the customer's region, source or kind, or the new/existing test (EXISTS an earlier policy of
the customer); the age band (age on the local issue date) and the product split are counted row
by row from the few columns they need.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any

from sqlalchemy import case, func, select
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

    def add(self, other: _Cell) -> None:
        """Merge a group whose customers are not in this one (e.g. regions '' and none)."""
        self.policies += other.policies
        self.renewals += other.renewals
        self.premium += other.premium
        self.customers += other.customers

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
    """SQL (a subquery): the period's policies summed per customer (and per `day` if given).
    Grouping first makes the join to the customer one ordered pass instead of one random
    lookup per policy."""
    P = m.Policy
    n, renewals, premium = _figures(P)
    return (select(P.customer_id.label("customer_id"), *(d.label("day") for d in day),
                   n.label("n"), renewals.label("renewals"), premium.label("premium"))
            .where(within(P.issued_at, p)).group_by(*by_position(1 + len(day))).subquery())


def _sum_cells(w: Work, stmt: Any, name=key) -> dict[str, _Cell]:
    cells: dict[str, _Cell] = defaultdict(_Cell)
    for group, n, renewals, premium, customers in w.session.execute(stmt):
        cells[name(group)].add(_Cell(int(n or 0), int(renewals or 0), premium or ZERO, customers))
    return cells


def _by_customer(w: Work, p: Period) -> dict[tuple[str, str], _Cell]:
    """Cells per (region, kind) of the customer. A customer has one region and one kind, so the
    cells of a region (or a kind) add up, distinct customers included."""
    C, x = m.Customer, _per_customer(p)
    stmt = (select(C.region, C.kind, func.sum(x.c.n), func.sum(x.c.renewals),
                   func.sum(x.c.premium), func.count())
            .select_from(x).join(C, C.id == x.c.customer_id).group_by(*by_position(2)))
    return {(region, kind): _Cell(int(n), int(renewals or 0), premium or ZERO, customers)
            for region, kind, n, renewals, premium, customers in w.session.execute(stmt)}


def _customer_cells(w: Work, p: Period, column: str) -> dict[str, _Cell]:
    """By a customer attribute (region, source or kind): sums per customer joined to it."""
    C, x = m.Customer, _per_customer(p)
    attribute = getattr(C, column)
    stmt = (select(attribute, func.sum(x.c.n), func.sum(x.c.renewals), func.sum(x.c.premium),
                   func.count())
            .select_from(x).join(C, C.id == x.c.customer_id).group_by(*by_position(1)))
    return _sum_cells(w, stmt)


def _merge(cells: dict[tuple[str, str], _Cell], at: int) -> dict[str, _Cell]:
    out: dict[str, _Cell] = defaultdict(_Cell)
    for k, c in cells.items():
        out[key(k[at])].add(c)
    return out


def _age_bands(w: Work, p: Period) -> dict[str, _Cell]:
    """By the customer's age band on the (local) issue date, in SQL: the policies summed per
    customer and local issue day, joined to the customer's birth date and kind."""
    C = m.Customer
    x = _per_customer(p, local_day(m.Policy.issued_at, p))
    band = age_band_case(C.birth_date, C.kind, x.c.day)
    stmt = (select(band, func.sum(x.c.n), func.sum(x.c.renewals), func.sum(x.c.premium),
                   func.count(x.c.customer_id.distinct()))
            .select_from(x).join(C, C.id == x.c.customer_id).group_by(*by_position(1)))
    return _sum_cells(w, stmt)


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


def _buyers(w: Work, p: Period) -> dict[str, _Cell]:
    """By buyer: "existing" when the customer had a policy issued before this one, else "new".
    The policies are summed per customer and issue instant first, so that the test (EXISTS an
    earlier policy, on the (customer, issued_at) index) runs once per group, in index order."""
    P = m.Policy
    x = _per_customer(p, unindexed(P.issued_at))  # sorted by customer (not in index order)
    earlier = aliased(m.Policy)
    buyer = case((select(earlier.id).where(earlier.customer_id == x.c.customer_id,
                                           earlier.issued_at < x.c.day).exists(), "existing"),
                 else_="new")
    stmt = (select(buyer, func.sum(x.c.n), func.sum(x.c.renewals), func.sum(x.c.premium),
                   func.count(x.c.customer_id.distinct()))
            .select_from(x).group_by(*by_position(1)))
    return _sum_cells(w, stmt)


def tendency(w: Work, p: Period, segment: str | None = None) -> list[dict[str, Any]]:
    """Buying tendency (D4): customers, policies and premium per customer segment."""
    segment = check_by(segment, SEGMENTS, "tendency")
    total = _cells(w, p)[ALL].premium
    by_customer = None
    rows = []
    for seg in SEGMENTS if segment is None else (segment,):
        if seg == "age-band":
            cells = _age_bands(w, p)
            order = _age_order(cells)
        elif seg == "buyer":
            cells = _buyers(w, p)
            order = [v for v in ("new", "existing") if v in cells]
        else:
            by_customer = _by_customer(w, p) if by_customer is None else by_customer
            cells = _merge(by_customer, 0 if seg == "region" else 1)
            order = _name_order(cells)
        for value in order:
            c = cells[value]
            rows.append({"segment": seg, "value": value, "customers": c.customers,
                         "policies": c.policies, "written_premium": c.premium,
                         "average_premium": c.average(),
                         "premium_share_pct": rate(c.premium, total)})
    return rows
