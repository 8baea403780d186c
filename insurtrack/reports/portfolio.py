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
  and premium-weighted (the yearly premium; by product shared among the policy's products in
  proportion to the line premiums, as earned premium is, so that the product rows add up to the
  "(all)" row). By month, "end" is each month's last day (the period's last day for the last month);
  the "(all)" row and product rows use the period's last day.

Speed: SQL collapses the policies that share their dates (GROUP BY expiry and effective date,
and by product the product on the policy row (migration 0005), in the order of the cover index,
which holds every column read), so Python walks groups, not policies. Policies whose cover ended
early are read from their own partial index, grouped by the local day the cover ended (computed
by SQL); renewals from the partial index of renewals, and the renewed new business is taken out
of the groups of the rest (no look-up of each policy's renewal). Only policies of several lines
are read one by one, with their lines, from their own partial index (their premium is shared
among the lines).
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
from sqlalchemy import and_, case, func, literal_column, null, or_, select, type_coerce
from sqlalchemy.orm import aliased

from insurtrack.domain import models as m
from insurtrack.domain.types import Money
from insurtrack.reports.common import (
    ZERO,
    Period,
    by_position,
    check_by,
    key,
    local_day,
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


def ended_on(p: Period, pol: Any = m.Policy, *, before: timedelta = timedelta(days=2)) -> Any:
    """SQL: the local date ('YYYY-MM-DD') a policy's cover ended early: cancelled or suspended
    now (else NULL). Computed by SQL so that policies ending the same day group together; exact
    for instants from `before` the period to two days after it, which is all that the figures
    compare (an earlier or later end only has to stay earlier or later)."""
    return case((pol.status == "cancelled", local_day(pol.cancelled_at, p, before=before,
                                                      after=timedelta(days=2))),
                (pol.status == "suspended", local_day(pol.suspended_at, p, before=before,
                                                      after=timedelta(days=2))),
                else_=None)


def last_day(expiry: date, ended_on: str | None) -> date:
    """The last day of cover: the expiry date, or the day before the cover ended early."""
    if ended_on is None:
        return expiry
    return min(expiry, date.fromisoformat(ended_on) - timedelta(days=1))


def term_premium(premium: Decimal, frequency: str, term_months: int) -> Decimal:
    return premium if frequency == "single" else premium * term_months / 12


def _twelfths(pol: Any = m.Policy) -> Any:
    """SQL: twelve times the term premium, as money: the yearly premium times the term's
    months, or times 12 for a single premium (term_premium = this ÷ 12)."""
    months = case((pol.frequency == "single", 12), else_=pol.term_months)
    return type_coerce(pol.premium * months, Money)


def _ended(pol: Any = m.Policy) -> Any:
    """SQL: the policy is cancelled or suspended now (its cover ended early). Written with the
    states as literals, as the partial index of those policies (ix_policy_ended) says it, so
    that SQLite reads them from that index."""
    return pol.status.in_([literal_column(f"'{state}'") for state in ENDED])


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
    pol, line = m.Policy, m.PolicyLine
    run = w.session.connection().execute
    acc = _Earning(p, groups, by_day=by == "month")
    # Each term summed by SQL as premium x months (term premium x 12), per expiry and effective
    # date and, for a cover that ended early, the day it ended.
    twelfths = func.sum(_twelfths(pol))
    ended = ended_on(p)
    if by == "month":
        # Covered to the expiry date (most): streamed in the order of the cover index, which
        # holds every column read. Ended early (few): from their own index, with the day the
        # cover ended (one that ended by the period's first day earns nothing in it).
        for exp, eff, total in run(select(pol.expiry_date, pol.effective_date, twelfths)
                                   .where(*_overlap(p), pol.status.not_in(ENDED))
                                   .group_by(*by_position(2))):
            acc.add((), total / 12, eff, exp, exp)
        for exp, eff, end, total in run(select(pol.expiry_date, pol.effective_date, ended, twelfths)
                                        .where(*_overlap(p), _ended(), ended > p.start.isoformat())
                                        .group_by(*by_position(3))):
            acc.add((), total / 12, eff, exp, last_day(exp, end))
        acc.close()
        return
    # By product. Policies of one line (most): their product is on the policy row (migration
    # 0005), so SQL sums them per product from the same two indexes as by month. Several lines
    # (product NULL; few): the premium is shared among the lines in proportion to the lines'
    # premiums, policy by policy.
    one = pol.product.is_not(None)
    for exp, eff, product, total in run(
            select(pol.expiry_date, pol.effective_date, pol.product, twelfths)
            .where(*_overlap(p), pol.status.not_in(ENDED), one).group_by(*by_position(3))):
        acc.add((key(product), TOTAL), total / 12, eff, exp, exp)
    for exp, eff, product, end, total in run(
            select(pol.expiry_date, pol.effective_date, pol.product, ended, twelfths)
            .where(*_overlap(p), _ended(), one, ended > p.start.isoformat())
            .group_by(*by_position(4))):
        acc.add((key(product), TOTAL), total / 12, eff, exp, last_day(exp, end))
    rows = run(select(pol.id, pol.effective_date, pol.expiry_date, pol.frequency, pol.term_months,
                      ended.label("ended"), pol.premium, line.product,
                      line.premium.label("line_premium"))
               .outerjoin(line, line.policy_id == pol.id)
               .where(*_overlap(p), pol.product.is_(None))
               .order_by(pol.id, line.id))
    for _, lines in groupby(rows, key=lambda r: r.id):
        lines = list(lines)
        r = lines[0]
        tp, last = term_premium(r.premium, r.frequency, r.term_months), last_day(r.expiry_date, r.ended)
        whole = sum((x.line_premium or ZERO for x in lines), ZERO)
        for x in lines:  # (a policy without lines, if any: its whole premium under "(none)")
            share = x.line_premium / whole if whole else Decimal(1) / len(lines)
            acc.add((key(x.product),), tp * share, r.effective_date, r.expiry_date, last)
        acc.add((TOTAL,), tp, r.effective_date, r.expiry_date, last)


def _overlap(p: Period) -> list[Any]:
    """SQL: the policy came in force and its term overlaps the period."""
    pol = m.Policy
    return [pol.in_force_at.is_not(None), pol.effective_date <= p.end, pol.expiry_date >= p.start]


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
    # per expiry date and product of a one-line policy (on the policy row, in the cover index)
    for expiry, product, up, renewed in run(
            select(pol.expiry_date, pol.product, func.count(pol.id), func.count(nxt.id))
            .outerjoin(nxt, renewal).where(*_due(p)).group_by(*by_position(2))):
        if by == "month":
            names: tuple[str, ...] = (month_of(expiry, p.tz), TOTAL)
        else:
            names = (TOTAL,) if product is None else (TOTAL, key(product))
        for name in names:
            groups[name]["up"] += up
            groups[name]["renewed"] += renewed
    if by == "product":  # several lines (few): a policy counts once in each of its products
        x = select(pol.id).where(*_due(p), pol.product.is_(None)).group_by(pol.id).subquery()
        renewal = and_(nxt.renewed_from_id == x.c.id, nxt.status != "cancelled")
        for product, up, renewed in run(
                select(line.product, func.count(x.c.id.distinct()), func.count(nxt.id.distinct()))
                .select_from(x).join(line, line.policy_id == x.c.id).outerjoin(nxt, renewal)
                .group_by(line.product)):
            groups[key(product)]["up"] += up
            groups[key(product)]["renewed"] += renewed


def _due(p: Period) -> list[Any]:
    """SQL: up for renewal in the period (came in force, not cancelled, expiry in the period)."""
    pol = m.Policy
    return [pol.in_force_at.is_not(None), pol.status != "cancelled", pol.expiry_date >= p.start,
            pol.expiry_date <= p.end]


def cohort_window(end: date) -> tuple[date, date]:
    """Effective dates of the 13th-month cohort measured by `end`: (end − 25 months, end − 13 months]."""
    return end - relativedelta(months=25) + timedelta(days=1), end - relativedelta(months=13)


@lru_cache(maxsize=4096)
def thirteenth_month(effective: date) -> date:
    """The day a policy's 13th-month persistency is judged: 13 months after it took effect."""
    return effective + relativedelta(months=13)


def _persistency(w: Work, p: Period, by: str, groups: dict[str, dict[str, Any]]) -> None:
    pol, line = m.Policy, m.PolicyLine
    ends = [(mo, min(_month_end(mo), p.end)) for mo in p.months()] if by == "month" else []
    windows = [(mo, *cohort_window(end)) for mo, end in ends]
    whole = cohort_window(p.end)
    first_start = windows[0][1] if windows else whole[0]
    run = w.session.connection().execute
    # An early end matters from the first 13th-month day judged (13 months after first_start).
    before = p.since - datetime.combine(first_start, datetime.min.time(), tzinfo=p.tz)
    before += timedelta(days=400)

    @lru_cache(maxsize=None)
    def judged(e0: date) -> tuple[date, str, tuple[str, ...]]:
        """The 13th-month day of a policy effective on e0 (as a date and ISO text) and the
        months whose cohort it belongs to."""
        day = thirteenth_month(e0)
        return day, day.isoformat(), tuple(mo for mo, lo, hi in windows if lo <= e0 <= hi)

    def tally(names: tuple[str, ...], terms: tuple, count: int, premium: Decimal) -> None:
        """Count policies effective on the same day with the same terms into the cohorts of
        their months (by month) and, when in the period's window, into the groups `names`."""
        e0 = terms[0][0]
        day, iso, months = judged(e0)
        # has cover on `day`: in the term and before its early end (ISO dates compare as text)
        kept = any(e is not None and e <= day <= x and (n is None or iso < n)
                   for e, x, n in terms)
        targets = list(months)
        if whole[0] <= e0 <= whole[1]:
            targets.extend(names)
        for name in targets:
            g = groups[name]
            g["cohort"] += count
            g["cohort_premium"] += premium
            if kept:
                g["persisting"] += count
                g["persisting_premium"] += premium

    product = by == "product"

    def names_of(prod: str | None) -> tuple[str, ...]:
        return (key(prod), TOTAL) if product else (TOTAL,)

    # New business in force with its effective date in the window; its renewal one and two terms
    # on, when in force (renewed_from_id is unique: one renewal at most).
    r1, r2 = aliased(pol), aliased(pol)
    # (new business: renewed_from_id NULL, not looked up through its unique index, where all
    # new business has the one key NULL)
    cohort = [pol.in_force_at.is_not(None), unindexed(pol.renewed_from_id).is_(None),
              pol.effective_date >= first_start, pol.effective_date <= whole[1]]
    renews = and_(r1.renewed_from_id == pol.id, r1.in_force_at.is_not(None))
    # By product, a policy of one line counts under the product on its row (migration 0005);
    # one of several lines (few) is read with its lines below.
    one = [pol.product.is_not(None)] if product else []
    # The few first: ended early (from their own index) or renewed (through the renewals' index),
    # grouped by what decides the 13th-month cover: the dates of each term and any early end.
    # (the ended ones: all read from their partial index, not through the cover index)
    cohort_ended = [*cohort[:2], unindexed(pol.effective_date) >= first_start,
                    unindexed(pol.effective_date) <= whole[1]]
    # (its dates as expressions: no index order tempts the planner away from the ones it reads)
    chain = [unindexed(pol.effective_date), unindexed(pol.expiry_date),
             ended_on(p, pol, before=before),
             r1.effective_date, r1.expiry_date, ended_on(p, r1, before=before),
             r2.effective_date, r2.expiry_date, ended_on(p, r2, before=before)]
    names = [f"c{i}" for i in range(len(chain))]
    later = and_(r2.renewed_from_id == r1.id, r2.in_force_at.is_not(None))
    # the renewed ones not ended, by product and own dates: taken out of the plain groups below
    renewed: dict[tuple, list] = defaultdict(lambda: [0, ZERO])
    for ended in (True, False):
        x = (select((pol.product if product else null()).label("product"), pol.premium,
                    *(c.label(n) for c, n in zip(chain, names)))
             .select_from(pol).join(r1, renews, isouter=ended).outerjoin(r2, later)
             .where(*(cohort_ended if ended else cohort), *one,
                    _ended() if ended else pol.status.not_in(ENDED))
             .subquery())
        q = (select(*(list(x.c)[:1] + [x.c[n] for n in names]), func.count(),
                    func.sum(x.c.premium))
             .group_by(*by_position(1 + len(names))))
        for prod, e0, x0, n0, e1, x1, n1, e2, x2, n2, count, premium in run(q):
            tally(names_of(prod), ((e0, x0, n0), (e1, x1, n1), (e2, x2, n2)), count, premium)
            if not ended:
                taken = renewed[(prod, e0, x0)]
                taken[0] += count
                taken[1] += premium
    # Most: not ended and not renewed: only their own dates decide. Every policy not ended, in the
    # order of the cover index, which holds every column read, less the renewed ones counted
    # above (a look-up of each policy's renewal would cost more than the whole read).
    none = ((None, None, None), (None, None, None))
    for x0, e0, prod, count, premium in run(
            select(pol.expiry_date, pol.effective_date,
                   pol.product if product else null(), func.count(),
                   func.sum(pol.premium))
            .where(*cohort, *one, pol.status.not_in(ENDED)).group_by(*by_position(3))):
        taken = renewed.get((prod, e0, x0))
        if taken is not None:
            count, premium = count - taken[0], premium - taken[1]
        if count:
            tally(names_of(prod), ((e0, x0, None), *none), count, premium)
    if not product:
        return
    # Several lines (product NULL, few), policy by policy with its lines: it counts once in each
    # of its products with its yearly premium shared among them in proportion to the lines'
    # premiums (as earned premium), and once in the whole row.
    rows = run(select(pol.id, pol.premium, *chain, line.product,
                      line.premium.label("line_premium"))
               .select_from(pol).outerjoin(r1, renews).outerjoin(r2, later)
               .outerjoin(line, line.policy_id == pol.id)
               .where(*cohort, pol.product.is_(None))
               .order_by(pol.id, line.id))
    for _, lines in groupby(rows, key=lambda r: r[0]):
        lines = list(lines)
        _, premium, e0, x0, n0, e1, x1, n1, e2, x2, n2 = lines[0][:11]
        terms = ((e0, x0, n0), (e1, x1, n1), (e2, x2, n2))
        tally((TOTAL,), terms, 1, premium)
        whole_lines = sum((r.line_premium or ZERO for r in lines), ZERO)
        for r in lines:
            if r.line_premium is None:  # (a policy without lines: in the whole row only)
                continue
            share = r.line_premium / whole_lines if whole_lines else Decimal(1) / len(lines)
            tally((key(r.product),), terms, 1, premium * share)


def _month_end(month: str) -> date:
    y, mo = map(int, month.split("-"))
    return date(y, mo, 1) + relativedelta(months=1) - timedelta(days=1)


def _blank() -> dict[str, Any]:
    return {"earned": Decimal(0), "incurred": ZERO, "claims": 0, "up": 0, "renewed": 0,
            "cohort": 0, "persisting": 0, "cohort_premium": ZERO, "persisting_premium": ZERO}


def portfolio(w: Work, p: Period, *, by: str | None = "product") -> list[dict[str, Any]]:
    """One row per product (sorted) or per month of the period, then the "(all)" row."""
    w.require("report.portfolio")
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
    # (by product, a policy of several lines shares its premium: a cohort's premium may hold
    # fractions of a cent until rounded here)
    cohort, persisting = _cents(g["cohort_premium"]), _cents(g["persisting_premium"])
    return {
        "group": name, "earned_premium": earned, "claims_incurred": g["incurred"],
        "claims": g["claims"], "loss_ratio_pct": rate(g["incurred"], earned),
        "up_for_renewal": g["up"], "renewed": g["renewed"], "retention_pct": rate(g["renewed"], g["up"]),
        "cohort": g["cohort"], "persisting": g["persisting"],
        "persistency_pct": rate(g["persisting"], g["cohort"]), "cohort_premium": cohort,
        "persisting_premium": persisting,
        "premium_persistency_pct": rate(persisting, cohort),
    }


def chart_series(rows: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, list]]:
    """Month labels and the loss-ratio series for cli/chart.bars (the "(all)" row left out)."""
    months = [r for r in rows if r["group"] != TOTAL]
    return [r["group"] for r in months], {"loss ratio %": [r["loss_ratio_pct"] for r in months]}
