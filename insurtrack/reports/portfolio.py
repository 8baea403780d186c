"""Portfolio report (D4, K2): loss ratio, retention and 13th-month persistency, by product or month.

Definitions (the command's help says the same; tests/reports/test_quality_reports.py checks them
against a book worked out by hand):

- Cover of a policy: from its effective date to its expiry date, for a policy that has come in
  force (first premium paid); a cancelled policy's cover ends the day before the local date of
  its cancellation, a policy suspended now (PRC Insurance Law art. 36) the day before the local
  date of its suspension. A policy never in force has no cover.
- Term premium: yearly premium × term months ÷ 12 (a single premium is the whole term's).
- Earned premium in the period = term premium × days of cover inside the period ÷ days of the
  whole term (expiry − effective + 1, so leap years and short terms earn exactly their premium).
  By product, a policy's premium is shared among its products in proportion to the line premiums
  (a rate loading applies to every line alike).
- Claims incurred = approved amounts of claims whose incident's local date falls in the period
  (accident basis: the claim is matched with the cover that earned the premium), not rejected
  after the approval. A claim without a product counts under the policy's product when the
  policy has one line, else under "(none)".
- Loss ratio = claims incurred ÷ earned premium, percent.
- Retention: up for renewal = policies that came in force, are not cancelled and whose expiry
  date falls in the period; renewed = those a later policy renews (renewed_from), unless that
  renewal was cancelled. By product a policy counts under each product it holds; by month under
  the month of its expiry date.
- 13th-month persistency: the cohort is the new business (policies that are not renewals) that
  came in force and whose effective date is after (end − 25 months) and on or before
  (end − 13 months); a policy persists when it — or its renewal, up to two terms on — has cover
  on the day 13 months after its effective date (each such day is at most the end). Count-based
  and premium-weighted (the yearly premium; by product the line's premium, before any rate
  loading). By month, "end" is each month's last day (the period's last day for the last month);
  the "(all)" row and product rows use the period's last day.

Speed: SQL collapses the policies that share dates, term and frequency (portable GROUP BY with
sum / count over the indexed expiry date), so Python walks groups, not policies; only cancelled
or suspended policies (their own end of cover) and policies of several products (their premium
shared among lines) are read one by one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from itertools import groupby
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.domain.types import UTCDateTime
from insurtrack.reports.common import (
    ZERO,
    Period,
    by_position,
    check_by,
    key,
    month_case,
    month_of,
    rate,
    unindexed,
    within,
)
from insurtrack.services.base import Work

BY = ("product", "month")
TOTAL = "(all)"
METRICS = ["earned_premium", "claims_incurred", "claims", "loss_ratio_pct",
           "up_for_renewal", "renewed", "retention_pct",
           "cohort", "persisting", "persistency_pct", "cohort_premium", "persisting_premium",
           "premium_persistency_pct"]
COLUMNS = ["group", *METRICS]
ENDED = ("cancelled", "suspended")
CENT = Decimal("0.01")
_FINE = Decimal("1e-20")


def _cents(value: Decimal) -> Decimal:
    # Sums are carried at 60 digits; rounding first to 20 places removes the last-digit drift of
    # divisions, so a value that is exactly half a cent rounds up as arithmetic by hand does.
    with localcontext() as ctx:
        ctx.prec = 60
        return value.quantize(_FINE, rounding=ROUND_HALF_UP).quantize(CENT, rounding=ROUND_HALF_UP)


def ended_at(p: Any = m.Policy) -> Any:
    """When a policy's cover ended early: cancelled or suspended now (else NULL)."""
    return type_coerce(case((p.status == "cancelled", p.cancelled_at),
                            (p.status == "suspended", p.suspended_at), else_=None), UTCDateTime)


def last_day(expiry: date, ended: datetime | None, tz) -> date:
    """The last day of cover: the expiry date, or the day before the cover ended early."""
    if ended is None:
        return expiry
    return min(expiry, ended.astimezone(tz).date() - timedelta(days=1))


def term_premium(premium: Decimal, frequency: str, term_months: int) -> Decimal:
    return premium if frequency == "single" else premium * term_months / 12


def _other_line(line: Any) -> Any:
    """EXISTS another line on the same policy (a policy of several products)."""
    other = aliased(m.PolicyLine)
    return (select(other.id).where(other.policy_id == m.Policy.id, other.id != line.id)
            .correlate(m.Policy, line).exists())


class _Earning:
    """Earned premium of a cover [effective, last day] within the period, into groups or days."""

    def __init__(self, p: Period, groups: dict[str, dict[str, Any]], by_day: bool) -> None:
        self.p, self.groups = p, groups
        self.diff = [Decimal(0)] * ((p.end - p.start).days + 2) if by_day else None

    def add(self, names: Iterable[str], tp: Decimal, eff: date, expiry: date, last: date) -> None:
        first, last = max(eff, self.p.start), min(last, self.p.end)
        if last < first:
            return
        term_days = (expiry - eff).days + 1
        if self.diff is not None:  # a running daily rate, summed per month afterwards
            daily = tp / term_days
            self.diff[(first - self.p.start).days] += daily
            self.diff[(last - self.p.start).days + 1] -= daily
            return
        earned = tp * ((last - first).days + 1) / term_days
        for name in names:
            self.groups[name]["earned"] += earned

    def close(self) -> None:
        if self.diff is None:
            return
        running = Decimal(0)
        for i in range(len(self.diff) - 1):
            running += self.diff[i]
            if running:
                name = month_of(self.p.start + timedelta(days=i), self.p.tz)
                self.groups[name]["earned"] += running
                self.groups[TOTAL]["earned"] += running


def _earned(w: Work, p: Period, by: str, groups: dict[str, dict[str, Any]]) -> None:
    pol, line, tz = m.Policy, m.PolicyLine, p.tz
    run = w.session.connection().execute
    acc = _Earning(p, groups, by_day=by == "month")
    live, ended = pol.status.not_in(ENDED), pol.status.in_(ENDED)
    terms = (pol.expiry_date, pol.effective_date, pol.frequency, pol.term_months)
    if by == "month":
        # Covered to the expiry date (most): summed per term by SQL, streamed in the order of the
        # cover index (which holds every column read). Ended early: per term and end of cover.
        for exp, eff, freq, tm, premium in run(
                select(*terms, func.sum(pol.premium)).where(*_overlap(p), live)
                .group_by(*by_position(4))):
            acc.add((), term_premium(premium, freq, tm), eff, exp, exp)
        for exp, eff, freq, tm, end, premium in run(
                select(*terms, ended_at().label("ended"), func.sum(pol.premium))
                .where(*_overlap(p), ended).group_by(*by_position(5))):
            acc.add((), term_premium(premium, freq, tm), eff, exp, last_day(exp, end, tz))
        acc.close()
        return
    # By product. Policies of one product (most): summed per product and term by SQL, reading
    # the lines and the policies together in policy order. Several products: the premium is
    # shared among the lines in proportion to the lines' premiums, policy by policy.
    other = _other_line(line)
    for product, exp, eff, freq, tm, end, premium in run(
            select(line.product, *terms, ended_at().label("ended"), func.sum(pol.premium))
            .select_from(pol).outerjoin(line, line.policy_id == pol.id)
            .where(*_overlap(p, ordered=True), ~other).group_by(*by_position(6))):
        acc.add((key(product), TOTAL), term_premium(premium, freq, tm), eff, exp,
                last_day(exp, end, tz))
    rows = run(select(pol.id, pol.effective_date, pol.expiry_date, pol.frequency, pol.term_months,
                      ended_at().label("ended"), pol.premium, line.product,
                      line.premium.label("line_premium"))
               .join(line, line.policy_id == pol.id).where(*_overlap(p, ordered=True), other)
               .order_by(pol.id, line.id))
    for _, lines in groupby(rows, key=lambda r: r.id):
        lines = list(lines)
        r = lines[0]
        tp, last = term_premium(r.premium, r.frequency, r.term_months), last_day(r.expiry_date, r.ended, tz)
        whole = sum((x.line_premium for x in lines), ZERO)
        for x in lines:
            share = x.line_premium / whole if whole else Decimal(1) / len(lines)
            acc.add((key(x.product),), tp * share, r.effective_date, r.expiry_date, last)
        acc.add((TOTAL,), tp, r.effective_date, r.expiry_date, last)


def _overlap(p: Period, *, ordered: bool = False) -> list[Any]:
    """SQL: the policy came in force and its term overlaps the period. `ordered`: read the
    policies in rowid order, with their lines (an index range over the expiry date would look
    up each of most of the book's policies one by one)."""
    pol = m.Policy
    expiry = unindexed(pol.expiry_date) if ordered else pol.expiry_date
    return [pol.in_force_at.is_not(None), pol.effective_date <= p.end, expiry >= p.start]


def _claims(w: Work, p: Period, by: str, groups: dict[str, dict[str, Any]]) -> None:
    c = m.Claim
    base = [c.approved_amount.is_not(None), within(c.incident_at, p),
            or_(c.rejected_at.is_(None), c.approved_at > c.rejected_at)]
    run = w.session.connection().execute

    def count(names: Iterable[str], amount: Decimal, n: int) -> None:
        for name in names:
            groups[name]["incurred"] += amount
            groups[name]["claims"] += n

    if by == "month":  # the local month of each incident
        for month, amount, n in run(select(month_case(c.incident_at, p), func.sum(c.approved_amount),
                                           func.count()).where(*base).group_by(*by_position(1))):
            count((month, TOTAL), amount, n)
        return
    for product, amount, n in run(select(c.product, func.sum(c.approved_amount), func.count(c.id))
                                  .where(*base, c.product.is_not(None)).group_by(c.product)):
        count((product, TOTAL), amount, n)
    # No product recorded: the policy's product when it has one line, else "(none)".
    found: dict[int, list] = defaultdict(list)
    for cid, amount, product in run(
            select(c.id, c.approved_amount, m.PolicyLine.product)
            .outerjoin(m.PolicyLine, m.PolicyLine.policy_id == c.policy_id)
            .where(*base, c.product.is_(None))):
        found[cid].append((amount, product))
    for items in found.values():
        count((key(items[0][1] if len(items) == 1 else None), TOTAL), items[0][0], 1)


def _retention(w: Work, p: Period, by: str, groups: dict[str, dict[str, Any]]) -> None:
    pol, nxt, line = m.Policy, aliased(m.Policy), m.PolicyLine
    renewal = and_(nxt.renewed_from_id == pol.id, nxt.status != "cancelled")
    run = w.session.connection().execute
    for expiry, up, renewed in run(
            select(pol.expiry_date, func.count(pol.id), func.count(nxt.id))
            .outerjoin(nxt, renewal).where(*_due(p)).group_by(pol.expiry_date)):
        for name in ((month_of(expiry, p.tz), TOTAL) if by == "month" else (TOTAL,)):
            groups[name]["up"] += up
            groups[name]["renewed"] += renewed
    if by == "product":  # a policy counts once in each of its products
        for product, up, renewed in run(
                select(line.product, func.count(pol.id.distinct()), func.count(nxt.id.distinct()))
                .select_from(pol).join(line, line.policy_id == pol.id).outerjoin(nxt, renewal)
                .where(*_due(p, ordered=True)).group_by(line.product)):
            groups[key(product)]["up"] += up
            groups[key(product)]["renewed"] += renewed


def _due(p: Period, *, ordered: bool = False) -> list[Any]:
    """SQL: up for renewal in the period (came in force, not cancelled, expiry in the period)."""
    pol = m.Policy
    expiry = unindexed(pol.expiry_date) if ordered else pol.expiry_date
    return [pol.in_force_at.is_not(None), pol.status != "cancelled", expiry >= p.start,
            expiry <= p.end]


def cohort_window(end: date) -> tuple[date, date]:
    """Effective dates of the 13th-month cohort measured by `end`: (end − 25 months, end − 13 months]."""
    return end - relativedelta(months=25) + timedelta(days=1), end - relativedelta(months=13)


@lru_cache(maxsize=4096)
def thirteenth_month(effective: date) -> date:
    """The day a policy's 13th-month persistency is judged: 13 months after it took effect."""
    return effective + relativedelta(months=13)


def _persistency(w: Work, p: Period, by: str, groups: dict[str, dict[str, Any]]) -> None:
    tz, pol, line = p.tz, m.Policy, m.PolicyLine
    ends = [(mo, min(_month_end(mo), p.end)) for mo in p.months()] if by == "month" else []
    windows = [(mo, *cohort_window(end)) for mo, end in ends]
    whole = cohort_window(p.end)
    first_start = windows[0][1] if windows else whole[0]
    product = [line.product] if by == "product" else []
    weight = line.premium if by == "product" else pol.premium
    policies = func.count(pol.id.distinct()) if product else func.count()
    run = w.session.connection().execute

    def tally(prod: list, terms: tuple, count: int, premium: Decimal) -> None:
        e0 = terms[0][0]
        day = thirteenth_month(e0)
        kept = any(e is not None and e <= day <= last_day(x, n, tz) for e, x, n in terms)
        targets: list[str] = []
        if whole[0] <= e0 <= whole[1]:
            targets += [key(prod[0])] if prod else [TOTAL]
        targets += [mo for mo, lo, hi in windows if lo <= e0 <= hi]
        for name in targets:
            g = groups[name]
            g["cohort"] += count
            g["cohort_premium"] += premium
            if kept:
                g["persisting"] += count
                g["persisting_premium"] += premium

    # New business in force with its effective date in the window.
    r1, r2 = aliased(pol), aliased(pol)
    cohort = [pol.in_force_at.is_not(None), pol.renewed_from_id.is_(None),
              pol.effective_date >= first_start, pol.effective_date <= whole[1]]
    renewed = (select(r1.id).where(r1.renewed_from_id == pol.id, r1.in_force_at.is_not(None))
               .correlate(pol).exists())
    # Most: covered to its own expiry, no renewal in force; only its dates decide. Grouped in
    # the order of the cover index, which holds every column read.
    q = (select(*product, pol.expiry_date, pol.effective_date, policies, func.sum(weight))
         .where(*cohort, pol.status.not_in(ENDED), ~renewed).group_by(*by_position(len(product) + 2)))
    if product:
        q = q.select_from(pol).join(line, line.policy_id == pol.id)
    for *prod, x0, e0, count, premium in run(q):
        tally(prod, ((e0, x0, None), (None, None, None), (None, None, None)), count, premium)
    # The others (ended early, or renewed): with their renewal one and two terms on (in force),
    # grouped by what decides the 13th-month cover: dates of each term and any early end.
    chain = [pol.effective_date, pol.expiry_date, ended_at(pol), r1.effective_date, r1.expiry_date,
             ended_at(r1), r2.effective_date, r2.expiry_date, ended_at(r2)]
    names = [f"c{i}" for i in range(len(chain))]
    q = (select(*product, *(c.label(n) for c, n in zip(chain, names)), policies, func.sum(weight))
         .select_from(pol)
         .outerjoin(r1, and_(r1.renewed_from_id == pol.id, r1.in_force_at.is_not(None)))
         .outerjoin(r2, and_(r2.renewed_from_id == r1.id, r2.in_force_at.is_not(None)))
         .where(*cohort, or_(pol.status.in_(ENDED), r1.id.is_not(None)))
         .group_by(*by_position(len(product) + len(chain))))
    if product:
        q = q.join(line, line.policy_id == pol.id)
    for row in run(q):
        *prod, e0, x0, n0, e1, x1, n1, e2, x2, n2, count, premium = row
        tally(prod, ((e0, x0, n0), (e1, x1, n1), (e2, x2, n2)), count, premium)
    if by == "product":  # the whole row counts each policy once, by its yearly premium
        _persistency(w, p, "total", groups)


def _month_end(month: str) -> date:
    y, mo = map(int, month.split("-"))
    return date(y, mo, 1) + relativedelta(months=1) - timedelta(days=1)


def _blank() -> dict[str, Any]:
    return {"earned": Decimal(0), "incurred": ZERO, "claims": 0, "up": 0, "renewed": 0,
            "cohort": 0, "persisting": 0, "cohort_premium": ZERO, "persisting_premium": ZERO}


def portfolio(w: Work, p: Period, *, by: str | None = "product") -> list[dict[str, Any]]:
    """One row per product (sorted) or per month of the period, then the "(all)" row."""
    by = check_by(by, BY, "portfolio") or "product"
    groups: dict[str, dict[str, Any]] = defaultdict(_blank)
    if by == "month":
        for mo in p.months():
            groups[mo]  # every month of the period, even a quiet one
    groups[TOTAL]
    with localcontext() as ctx:
        ctx.prec = 60
        _earned(w, p, by, groups)
        _claims(w, p, by, groups)
        _retention(w, p, by, groups)
        _persistency(w, p, by, groups)
    names = p.months() if by == "month" else sorted(g for g in groups if g != TOTAL)
    return [_row(name, groups[name]) for name in [*names, TOTAL]]


def _row(name: str, g: dict[str, Any]) -> dict[str, Any]:
    earned = _cents(g["earned"])
    return {
        "group": name, "earned_premium": earned, "claims_incurred": g["incurred"],
        "claims": g["claims"], "loss_ratio_pct": rate(g["incurred"], earned),
        "up_for_renewal": g["up"], "renewed": g["renewed"], "retention_pct": rate(g["renewed"], g["up"]),
        "cohort": g["cohort"], "persisting": g["persisting"],
        "persistency_pct": rate(g["persisting"], g["cohort"]), "cohort_premium": g["cohort_premium"],
        "persisting_premium": g["persisting_premium"],
        "premium_persistency_pct": rate(g["persisting_premium"], g["cohort_premium"]),
    }


def chart_series(rows: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, list]]:
    """Month labels and the loss-ratio series for cli/chart.bars (the "(all)" row left out)."""
    months = [r for r in rows if r["group"] != TOTAL]
    return [r["group"] for r in months], {"loss ratio %": [r["loss_ratio_pct"] for r in months]}
