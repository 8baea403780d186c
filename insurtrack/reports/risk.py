"""Risk report (K1, K2, K3): customers by credit rating and risk level, overdue premium by age,
and the high-risk items that need attention — a picture at the end of the period.

Definitions (the command's help says the same; tests/reports/test_quality_reports.py checks them):

- End date: --to (default today). --from only bounds nothing here; the report is a snapshot.
- ratings (K3): customers recorded by the end date, counted by their current credit rating
  (A–D, or "(none)") and risk level (low, medium, high, or unrated), with totals.
- overdue (K1 credit risk): installments still unpaid now (due or partly paid) of policies that
  came in force, whose due date is before the end date; days overdue = end date − due date, so
  an installment is overdue from the day after it falls due. Bands: 0-30 (1 to 30 days), 31-60,
  over 60. amount_owed = amount − paid_amount; policies and customers are counted once per row
  (the "(all)" row counts each once overall).
- attention (K2: high-risk items get close attention), one row per item, in this order:
  high-risk-overdue — a high-risk customer's policy with overdue premium (amount owed overdue,
  days of its oldest overdue installment); high-risk-open-claim — an open claim (reported,
  contacted, investigating, awaiting documents or approved and unpaid) of a high-risk customer,
  reported by the end date (amount: approved, else claimed; days since its report);
  poor-credit-in-force — an in-force policy of a customer rated C or D (amount: sum insured);
  large-open-claim — an open claim reported by the end date whose amount (approved, else
  claimed) is at least the large-claim threshold (default 100000.00; days since its report).
  An item can appear under two reasons.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from insurtrack.domain import models as m
from insurtrack.errors import BadInput
from insurtrack.reports.common import NONE, ZERO, Period, unindexed
from insurtrack.services.base import Work

SECTIONS = ("ratings", "overdue", "attention")
CSV_DEFAULT = "attention"
TOTAL = "(all)"
RATINGS = ("A", "B", "C", "D")
LEVELS = ("low", "medium", "high")
BANDS = (("0-30", 1, 30), ("31-60", 31, 60), ("over 60", 61, None))
LARGE_CLAIM = Decimal("100000.00")
OPEN_CLAIM = ("reported", "contacted", "investigating", "awaiting_documents", "approved")
UNPAID = ("due", "partially_paid")
REASONS = ("high-risk-overdue", "high-risk-open-claim", "poor-credit-in-force", "large-open-claim")


def columns(section: str) -> list[str]:
    """Each section's columns (a stable contract)."""
    return {
        "ratings": ["credit_rating", *LEVELS, "unrated", "total"],
        "overdue": ["band", "installments", "amount_owed", "policies", "customers"],
        "attention": ["reason", "customer", "name", "risk_level", "credit_rating", "policy", "claim",
                      "amount", "days"],
    }[section]


def check_section(section: str | None) -> str | None:
    if section is not None and section not in SECTIONS:
        raise BadInput("--section", section, f"the risk report's sections are {', '.join(SECTIONS)}")
    return section


def band(days: int) -> str:
    return next(label for label, lo, hi in BANDS if days >= lo and (hi is None or days <= hi))


def ratings(w: Work, p: Period) -> list[dict[str, Any]]:
    c = m.Customer
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rating, level, n in w.session.execute(
            select(c.credit_rating, c.risk_level, func.count(c.id)).where(c.created_at < p.until)
            .group_by(c.credit_rating, c.risk_level)):
        col = level if level in LEVELS else "unrated"
        for row in (rating or NONE, TOTAL):
            counts[row][col] += n
            counts[row]["total"] += n
    others = sorted(r for r in counts if r not in RATINGS and r not in (NONE, TOTAL))
    return [{"credit_rating": r, **{k: counts[r][k] for k in (*LEVELS, "unrated", "total")}}
            for r in (*RATINGS, *others, NONE, TOTAL)]


def _overdue_rows(w: Work, end: date, *extra: Any) -> list[Any]:
    i, pol, c = m.Installment, m.Policy, m.Customer
    q = (select(i.policy_id, i.due_date, i.amount, i.paid_amount, pol.code.label("policy"),
                pol.customer_id, c.code.label("customer"), c.name, c.risk_level, c.credit_rating)
         .join(pol, pol.id == i.policy_id).join(c, c.id == pol.customer_id)
         .where(i.status.in_(UNPAID), i.due_date < end, pol.in_force_at.is_not(None), *extra))
    return w.session.connection().execute(q).all()


def overdue(w: Work, p: Period) -> list[dict[str, Any]]:
    """Counted by SQL: the band is a range of due dates, so no installment is read one by one."""
    i, pol = m.Installment, m.Policy
    edges = [(label, p.end - timedelta(days=hi) if hi else None) for label, _, hi in BANDS]
    band_of = case(*((i.due_date >= since, label) for label, since in edges if since is not None),
                   else_=edges[-1][0])
    where = [i.status.in_(UNPAID), i.due_date < p.end, pol.in_force_at.is_not(None)]
    figures = (func.count(i.id), func.sum(i.amount), func.sum(i.paid_amount),
               func.count(pol.id.distinct()), func.count(pol.customer_id.distinct()))
    run = w.session.connection().execute
    found = {label: rest for label, *rest in run(
        select(band_of, *figures).join(pol, pol.id == i.policy_id).where(*where).group_by(band_of))}
    found[TOTAL] = list(run(select(*figures).join(pol, pol.id == i.policy_id).where(*where)).one())
    out = []
    for name in (*(b[0] for b in BANDS), TOTAL):
        n, amount, paid, policies, customers = found.get(name) or (0, None, None, 0, 0)
        out.append({"band": name, "installments": n, "amount_owed": (amount or ZERO) - (paid or ZERO),
                    "policies": policies, "customers": customers})
    return out


def _item(reason: str, r: Any, *, policy: str | None, claim: str | None, amount: Decimal | None,
          days: int | None) -> dict[str, Any]:
    return {"reason": reason, "customer": r.customer, "name": r.name, "risk_level": r.risk_level,
            "credit_rating": r.credit_rating, "policy": policy, "claim": claim, "amount": amount,
            "days": days}


def _open_claims(w: Work, p: Period, *extra: Any, extra_columns: tuple = ()) -> list[Any]:
    cl, pol, c = m.Claim, m.Policy, m.Customer
    q = (select(cl.code.label("claim"), pol.code.label("policy"), cl.approved_amount,
                cl.amount_claimed, cl.reported_at, c.code.label("customer"), c.name, c.risk_level,
                c.credit_rating, *extra_columns)
         .join(pol, pol.id == cl.policy_id).join(c, c.id == cl.customer_id)
         .where(cl.status.in_(OPEN_CLAIM), unindexed(cl.reported_at) < p.until, *extra))
    return w.session.connection().execute(q).all()


class Items(list):
    """Attention items, perhaps only the first `limit` of them: `total` counts them all."""

    total: int = 0


def attention(w: Work, p: Period, *, large_claim: Decimal = LARGE_CLAIM,
              limit: int | None = None) -> Items:
    """The items needing attention in REASONS order (then customer, policy, claim); with
    `limit`, the first `limit` of them (the poor-credit policies, tens of thousands in a big
    book, counted and read only as far as needed), `total` counting them all."""
    end, items = p.end, Items()
    per_policy: dict[str, dict[str, Any]] = {}
    for r in _overdue_rows(w, end, unindexed(m.Customer.risk_level) == "high"):
        x = per_policy.setdefault(r.policy, {"row": r, "owed": ZERO, "days": 0})
        x["owed"] += r.amount - r.paid_amount
        x["days"] = max(x["days"], (end - r.due_date).days)
    items += [_item(REASONS[0], x["row"], policy=code, claim=None, amount=x["owed"], days=x["days"])
              for code, x in per_policy.items()]

    def claim_item(reason: str, r: Any) -> dict[str, Any]:
        amount = r.approved_amount if r.approved_amount is not None else r.amount_claimed
        days = (end - r.reported_at.astimezone(p.tz).date()).days
        return _item(reason, r, policy=r.policy, claim=r.claim, amount=amount, days=days)

    # the open claims of high-risk customers and the large open claims: one read of the open
    # claims for both reasons (a claim may be under both)
    cl = m.Claim
    big = or_(cl.approved_amount >= large_claim,
              and_(cl.approved_amount.is_(None), cl.amount_claimed >= large_claim))
    high = unindexed(m.Customer.risk_level) == "high"
    open_claims = _open_claims(w, p, or_(high, big), extra_columns=(big.label("big"),))
    items += [claim_item(REASONS[1], r) for r in open_claims if r.risk_level == "high"]
    pol, c = m.Policy, m.Customer
    poor = [pol.status == "in_force", c.credit_rating.in_(("C", "D"))]
    q = (select(pol.code.label("policy"), pol.sum_insured, c.code.label("customer"), c.name,
                c.risk_level, c.credit_rating).join(c, c.id == pol.customer_id).where(*poor))
    run = w.session.connection().execute
    n_poor = None
    if limit is not None:
        n_poor = run(select(func.count()).select_from(pol).join(c, c.id == pol.customer_id)
                     .where(*poor)).scalar_one()
        q = q.order_by(c.code, pol.code).limit(max(0, limit - len(items)))
    for r in run(q):
        items.append(_item(REASONS[2], r, policy=r.policy, claim=None, amount=r.sum_insured, days=None))
    items += [claim_item(REASONS[3], r) for r in open_claims if r.big]
    order = {r: i for i, r in enumerate(REASONS)}
    items.sort(key=lambda x: (order[x["reason"]], x["customer"], x["policy"] or "", x["claim"] or ""))
    items.total = len(items) if n_poor is None else len(items) - sum(
        1 for x in items if x["reason"] == REASONS[2]) + n_poor
    if limit is not None:
        del items[limit:]
    return items


def risk(w: Work, p: Period, *, large_claim: Decimal = LARGE_CLAIM,
         sections: Iterable[str] = SECTIONS, limit: int | None = None
         ) -> dict[str, list[dict[str, Any]]]:
    """The chosen sections, in SECTIONS order; `limit`: of the attention items (attention)."""
    w.require("report.risk")
    wanted = set(sections)
    make = {"ratings": lambda: ratings(w, p), "overdue": lambda: overdue(w, p),
            "attention": lambda: attention(w, p, large_claim=large_claim, limit=limit)}
    return {name: make[name]() for name in SECTIONS if name in wanted}
