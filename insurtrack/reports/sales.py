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
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, case, exists, func, select, type_coerce
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.reports.common import (
    AGE_BANDS,
    NONE,
    ZERO,
    Period,
    age_band,
    by_position,
    check_by,
    key,
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


@dataclass
class _Tally:
    """A cell counted row by row (groupings SQL cannot form without a dialect's date functions,
    or that split a policy)."""

    policies: int = 0
    renewals: int = 0
    cents: int = 0
    customers: set[int] = field(default_factory=set)

    def cell(self) -> _Cell:
        return _Cell(self.policies, self.renewals, _money(self.cents), len(self.customers))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2).quantize(CENT)


def _cells(w: Work, p: Period, group: Any = None, *, customer: bool = False,
           name=key) -> dict[str, _Cell]:
    """The policies issued in the period, counted and summed in SQL, by `group` (an SQL
    expression) or in all."""
    P, C = m.Policy, m.Customer
    source = P.__table__.join(C.__table__, C.id == P.customer_id) if customer else P.__table__
    keys = [] if group is None else [group]
    renewals = func.sum(case((P.renewed_from_id.is_not(None), 1), else_=0))
    stmt = (select(*keys, func.count(), renewals, func.sum(P.premium),
                   func.count(P.customer_id.distinct()))
            .select_from(source).where(within(P.issued_at, p)))
    if keys:
        stmt = stmt.group_by(*by_position(1))
    cells: dict[str, _Cell] = defaultdict(_Cell)
    for row in w.session.execute(stmt):
        n, renewals, premium, customers = row[-4:]
        cells[name(row[0]) if keys else ALL].add(
            _Cell(n, renewals or 0, premium or ZERO, customers))
    return cells


def _aware(when: datetime) -> datetime:
    """A stored instant read as a plain datetime: naive UTC on SQLite."""
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _age_bands(w: Work, p: Period) -> dict[str, _Cell]:
    """By the customer's age band on the (local) issue date, row by row."""
    P, C = m.Policy, m.Customer
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for customer_id, cents, renewed, issued, kind, born in w.session.execute(
            select(P.customer_id, type_coerce(P.premium, BigInteger()), P.renewed_from_id,
                   type_coerce(P.issued_at, DateTime()), C.kind, C.birth_date)
            .join(C, C.id == P.customer_id).where(within(P.issued_at, p))):
        t = tallies[age_band(born, _aware(issued).astimezone(p.tz).date(), kind)]
        t.policies += 1
        t.renewals += renewed is not None
        t.cents += cents
        t.customers.add(customer_id)
    return {band: t.cell() for band, t in tallies.items()}


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
    """By product: each policy once in each of its products, its premium split over its lines."""
    P, L = m.Policy, m.PolicyLine
    tallies: dict[str, _Tally] = defaultdict(_Tally)

    def count(policy: tuple, lines: list[tuple[str, Decimal]]) -> None:
        customer_id, cents, renewed = policy
        shares: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for product, part in split(_money(cents), lines):
            shares[product] += part
        for product, part in shares.items():
            t = tallies[product]
            t.policies += 1
            t.renewals += renewed is not None
            t.cents += int(part.scaleb(2))
            t.customers.add(customer_id)

    current, policy, lines = None, None, []
    for policy_id, customer_id, cents, renewed, product, line_cents in w.session.execute(
            select(P.id, P.customer_id, type_coerce(P.premium, BigInteger()).label("cents"),
                   P.renewed_from_id, L.product,
                   type_coerce(L.premium, BigInteger()).label("line_cents"))
            .outerjoin(L, L.policy_id == P.id).where(within(P.issued_at, p))
            .order_by(P.id, L.id)):
        if policy_id != current:
            if policy is not None:
                count(policy, lines)
            current, policy, lines = policy_id, (customer_id, cents, renewed), []
        if line_cents is not None:
            lines.append((product, _money(line_cents)))
    if policy is not None:
        count(policy, lines)
    return {product: t.cell() for product, t in tallies.items()}


def sales(w: Work, p: Period, by: str | None = "month") -> list[dict[str, Any]]:
    """One row per group (see the module docstring for every definition), then "(all)"."""
    by = check_by(by, BY, "sales")
    P, C = m.Policy, m.Customer
    if by == "month":
        cells = _cells(w, p, month_case(P.issued_at, p))
    elif by == "staff":
        staff = dict(w.session.execute(select(m.Staff.id, m.Staff.code)).all())
        cells = _cells(w, p, P.owner_id, name=lambda owner: key(staff.get(owner)))
    elif by in ("region", "channel"):
        cells = _cells(w, p, C.region if by == "region" else C.source, customer=True)
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


def _buyer() -> Any:
    """SQL: "existing" when the customer had a policy issued before this one, else "new"."""
    P = m.Policy
    earlier = aliased(m.Policy)
    return case((exists().where(earlier.customer_id == P.customer_id,
                                earlier.issued_at < P.issued_at), "existing"), else_="new")


def tendency(w: Work, p: Period, segment: str | None = None) -> list[dict[str, Any]]:
    """Buying tendency (D4): customers, policies and premium per customer segment."""
    segment = check_by(segment, SEGMENTS, "tendency")
    C = m.Customer
    total = _cells(w, p)[ALL].premium
    rows = []
    for seg in SEGMENTS if segment is None else (segment,):
        if seg == "age-band":
            cells = _age_bands(w, p)
            order = _age_order(cells)
        elif seg == "buyer":
            cells = _cells(w, p, _buyer())
            order = [v for v in ("new", "existing") if v in cells]
        else:
            cells = _cells(w, p, C.region if seg == "region" else C.kind, customer=True)
            order = _name_order(cells)
        for value in order:
            c = cells[value]
            rows.append({"segment": seg, "value": value, "customers": c.customers,
                         "policies": c.policies, "written_premium": c.premium,
                         "average_premium": c.average(),
                         "premium_share_pct": rate(c.premium, total)})
    return rows
