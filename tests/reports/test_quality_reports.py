"""`report portfolio`, `report service` and `report risk` (D4, K1-K3, Q1-Q4, T6, T8) against small
books whose right answers are worked out by hand in the comments below. The clock is pinned at
Monday 2026-03-02 09:00 Shanghai (tests/conftest.py). Every figure of every row of every grouping
is asserted; the csv headers and json shapes are pinned as a contract."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from tests import factories
from tests.conftest import local

TL, AC = "term-life", "accident"


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _rows(columns: list[str], *values: tuple) -> list[dict]:
    """Expected json rows: money and rates as strings, counts as ints, None as null."""
    return [dict(zip(columns, row, strict=True)) for row in values]


# ============================================================================ portfolio

def _policy(w, cust, *, eff: date, lines, premium: str | None = None, status: str = "in_force",
            frequency: str = "annual", term: int = 12, renews=None, cancelled: datetime | None = None,
            suspended: datetime | None = None) -> m.Policy:
    p = factories.policy(w, cust, status=status, frequency=frequency, effective=eff,
                         term_months=term, lines=lines)
    if premium is not None:
        p.premium = D(premium)
    p.renewed_from_id = renews.id if renews else None
    p.cancelled_at, p.suspended_at = cancelled, suspended
    w.session.flush()
    return p


def _claim(w, pol, *, incident: datetime, status: str, product: str | None = None,
           approved: str | None = None, approved_at: datetime | None = None,
           rejected_at: datetime | None = None, claimed: str = "10000.00",
           reported: datetime | None = None) -> m.Claim:
    c = factories.claim(w, pol, status=status, amount=claimed, incident_at=incident,
                        approved_amount=approved)
    c.product, c.approved_at, c.rejected_at = product, approved_at, rejected_at
    c.reported_at = reported or incident
    w.session.flush()
    return c


@pytest.fixture
def book(work):
    """The portfolio book. Earned premium in 2025 (term premium x days covered / term days):

    P1  C1 term-life 1200 annual, 2025-01-01..2025-12-31 (365 d)   1200 x 365/365 = 1200
    P2  C2 term-life 600 + accident 400, premium 1100 (10 % loading), 2025-07-01..2026-06-30
        (365 d), 184 days in 2025: term-life 660 x 184/365 = 332.7123…, accident 440 x 184/365
        = 221.8082…, whole 554.5205…
    P3  C3 accident single premium 365, 2025-04-01..2026-03-31, cancelled 2025-06-10 10:00:
        covered 04-01..06-09 = 30+31+9 = 70 d; 365 x 70/365 = 70
    P4  C4 term-life 2400 monthly, 2025-10-01..2026-09-30, suspended 2025-12-16: covered
        10-01..12-15 = 31+30+15 = 76 d; 2400 x 76/365 = 499.7260…
    P5  C1 term-life 1200, 2026-01-01, renews P1: nothing in 2025
    P6  C5 term-life 1000, issued 2025-05-01, never in force: nothing
    P7  C5 accident 730 annual, 24 months 2024-01-01..2025-12-31 (366+365 = 731 d): term premium
        1460; 1460 x 365/731 = 729.0013…
    P8  C2 term-life 500, 2024-06-01..2025-05-31 (365 d): 151 d in 2025; 500 x 151/365 = 206.8493…
    P9  C2 term-life 500, 2025-06-01, renews P8, cancelled 2025-06-05: 4 d; 500 x 4/365 = 5.4794…
    P10 C6 term-life 800, 2024-03-15..2025-03-14: 73 d in 2025; 800 x 73/365 = 160
    P11 C6 term-life 800, 2025-03-15..2026-03-14, renews P10: 292 d; 800 x 292/365 = 640
    P12 C6 accident 600 monthly, 2024-09-01..2025-08-31, suspended 2025-08-20: 2025-01-01..08-19
        = 231 d; 600 x 231/365 = 379.7260…

    term-life = 1200 + 332.7123 + 499.7260 + 206.8493 + 5.4794 + 160 + 640 = 3044.7671 → 3044.77
    accident  = 221.8082 + 70 + 729.0013 + 379.7260                        = 1400.5356 → 1400.54
    all       = 4445.3027 → 4445.30
    """
    with work("sally") as w:
        c = [factories.customer(w, name=f"Customer {i}") for i in range(1, 7)]
        p1 = _policy(w, c[0], eff=date(2025, 1, 1), lines=((TL, "500000.00", "1200.00"),))
        p2 = _policy(w, c[1], eff=date(2025, 7, 1), premium="1100.00",
                     lines=((TL, "300000.00", "600.00"), (AC, "100000.00", "400.00")))
        p3 = _policy(w, c[2], eff=date(2025, 4, 1), frequency="single", status="cancelled",
                     lines=((AC, "100000.00", "365.00"),), cancelled=local(2025, 6, 10, 10, 0))
        _policy(w, c[3], eff=date(2025, 10, 1), frequency="monthly", status="suspended",
                lines=((TL, "400000.00", "2400.00"),), suspended=local(2025, 12, 16, 10, 0))
        _policy(w, c[0], eff=date(2026, 1, 1), lines=((TL, "500000.00", "1200.00"),), renews=p1)
        _policy(w, c[4], eff=date(2025, 5, 1), status="issued", lines=((TL, "100000.00", "1000.00"),))
        p7 = _policy(w, c[4], eff=date(2024, 1, 1), term=24, lines=((AC, "50000.00", "730.00"),))
        p8 = _policy(w, c[1], eff=date(2024, 6, 1), status="expired",
                     lines=((TL, "100000.00", "500.00"),))
        _policy(w, c[1], eff=date(2025, 6, 1), status="cancelled", renews=p8,
                lines=((TL, "100000.00", "500.00"),), cancelled=local(2025, 6, 5, 10, 0))
        p10 = _policy(w, c[5], eff=date(2024, 3, 15), status="expired",
                      lines=((TL, "100000.00", "800.00"),))
        p11 = _policy(w, c[5], eff=date(2025, 3, 15), renews=p10, lines=((TL, "100000.00", "800.00"),))
        _policy(w, c[5], eff=date(2024, 9, 1), frequency="monthly", status="suspended",
                lines=((AC, "100000.00", "600.00"),), suspended=local(2025, 8, 20, 10, 0))
    with work("carl") as w:
        # Claims incurred in 2025 (approved amount, incident's local date in the period):
        # CL1 term-life 300
        _claim(w, p1, product=TL, incident=local(2025, 3, 10, 9, 0), status="paid",
               approved="300.00", approved_at=local(2025, 3, 20, 9, 0))
        # CL2 accident 200
        _claim(w, p2, product=AC, incident=local(2025, 8, 5, 9, 0), status="approved",
               approved="200.00", approved_at=local(2025, 8, 9, 9, 0))
        # CL3 no product, 2 lines: (none) 50
        _claim(w, p2, incident=local(2025, 9, 1, 9, 0), status="approved",
               approved="50.00", approved_at=local(2025, 9, 9, 9, 0))
        # CL4 no product, 1 line: accident 35
        _claim(w, p3, incident=local(2025, 5, 1, 9, 0), status="paid",
               approved="35.00", approved_at=local(2025, 5, 9, 9, 0))
        # CL5 rejected: out
        _claim(w, p1, product=TL, incident=local(2025, 4, 1, 9, 0), status="rejected",
               rejected_at=local(2025, 4, 9, 9, 0))
        # CL6 incident 2024: out
        _claim(w, p7, product=AC, incident=local(2024, 12, 20, 9, 0), status="paid",
               approved="999.00", approved_at=local(2025, 1, 5, 9, 0))
        # CL7 open: out
        _claim(w, p2, product=AC, incident=local(2025, 11, 11, 9, 0), status="investigating")
        # CL8 rejected later: out
        _claim(w, p2, product=TL, incident=local(2025, 10, 1, 9, 0), status="closed", approved="80.00",
               approved_at=local(2025, 10, 5, 9, 0), rejected_at=local(2025, 10, 20, 9, 0))
        # CL9 local 12-31 (UTC 15:30): in, 100
        _claim(w, p1, product=TL, incident=local(2025, 12, 31, 23, 30), status="approved",
               approved="100.00", approved_at=local(2026, 1, 5, 9, 0))
        # CL10 local 2026-01-01 (UTC 12-31): out
        _claim(w, p11, product=TL, incident=local(2026, 1, 1, 0, 30), status="approved",
               approved="70.00", approved_at=local(2026, 1, 5, 9, 0))
    return None


PORTFOLIO_HEADER = ["group", "earned_premium", "claims_incurred", "claims", "loss_ratio_pct",
                    "up_for_renewal", "renewed", "retention_pct", "cohort", "persisting",
                    "persistency_pct", "cohort_premium", "persisting_premium",
                    "premium_persistency_pct"]

# 2025 by product.
# Claims: term-life CL1 300 + CL9 100 = 400 (2); accident CL2 200 + CL4 35 = 235 (2); (none) CL3 50.
# Loss ratio: 400/3044.77 = 13.14 % → 13.1; 235/1400.54 = 16.78 → 16.8; 685/4445.30 = 15.41 → 15.4.
# Up for renewal (expiry in 2025, came in force, not cancelled): P1 (renewed by P5), P7 (no),
# P8 (its renewal P9 was cancelled: no), P10 (renewed by P11), P12 (no). P3 cancelled: not up.
#   term-life P1, P8, P10: 2/3 = 66.7; accident P7, P12: 0/2 = 0.0; all 2/5 = 40.0.
# Persistency, END 2025-12-31: new business effective 2023-12-01..2024-11-30: P7, P8, P10, P12.
#   P7 on 2025-02-01: covered (to 2025-12-31) ✓; P8 on 2025-07-01: own cover ended 05-31, renewal
#   P9 covered 06-01..06-04 only ✗; P10 on 2025-04-15: renewal P11 covers ✓; P12 on 2025-10-01:
#   suspended 2025-08-20 ✗.
#   term-life P8 (500) P10 (800): 1/2 = 50.0, premium 800/1300 = 61.5
#   accident P7 (730) P12 (600): 1/2 = 50.0, premium 730/1330 = 54.9
#   all: 2/4 = 50.0, premium 1530/2630 = 58.2
PORTFOLIO_2025_BY_PRODUCT = _rows(
    PORTFOLIO_HEADER,
    ("(none)", "0.00", "50.00", 1, None, 0, 0, None, 0, 0, None, "0.00", "0.00", None),
    ("accident", "1400.54", "235.00", 2, "16.8", 2, 0, "0.0", 2, 1, "50.0", "1330.00", "730.00", "54.9"),
    ("term-life", "3044.77", "400.00", 2, "13.1", 3, 2, "66.7", 2, 1, "50.0", "1300.00", "800.00", "61.5"),
    ("(all)", "4445.30", "685.00", 5, "15.4", 5, 2, "40.0", 4, 2, "50.0", "2630.00", "1530.00", "58.2"),
)

# 2025-01-01..2025-03-31 by month. Covering all quarter: P1 1200, P8 500, P10→P11 800 (P10 to
# 03-14, P11 from 03-15), P12 600: 3100/365 a day; P7 1460/731 a day.
#   Jan 3100x31/365 + 1460x31/731 = 263.2877 + 61.9152 = 325.2029 → 325.20
#   Feb 3100x28/365 + 1460x28/731 = 237.8082 + 55.9234 = 293.7316 → 293.73
#   Mar = Jan = 325.20;  quarter 3100x90/365 + 1460x90/731 = 764.3836 + 179.7538 = 944.14
# Claims: CL1 (03-10) 300 in March: 300/325.20 = 92.3; quarter 300/944.14 = 31.8; Jan/Feb 0.0.
# Renewals by expiry month: P10 (03-14) renewed → March 1/1; quarter 1/1.
# Persistency: END Jan 31 → effective 2023-01-01..2023-12-31: nobody. END Feb 28 → 2023-01-29..
#   2024-01-28: P7 (2024-01-01, on 2025-02-01 ✓). END Mar 31 → 2023-03-01..2024-02-29: P7 again
#   (P10, 2024-03-15, is not in). The quarter row (END 2025-03-31) = March.
PORTFOLIO_Q1_BY_MONTH = _rows(
    PORTFOLIO_HEADER,
    ("2025-01", "325.20", "0.00", 0, "0.0", 0, 0, None, 0, 0, None, "0.00", "0.00", None),
    ("2025-02", "293.73", "0.00", 0, "0.0", 0, 0, None, 1, 1, "100.0", "730.00", "730.00", "100.0"),
    ("2025-03", "325.20", "300.00", 1, "92.3", 1, 1, "100.0", 1, 1, "100.0", "730.00", "730.00", "100.0"),
    ("(all)", "944.14", "300.00", 1, "31.8", 1, 1, "100.0", 1, 1, "100.0", "730.00", "730.00", "100.0"),
)


def test_portfolio_by_product_json_D4(cli, book):
    got = cli.json("report", "portfolio", "--from", "2025-01-01", "--to", "2025-12-31")
    assert got == PORTFOLIO_2025_BY_PRODUCT


def test_portfolio_by_month_json(cli, book):
    got = cli.json("report", "portfolio", "--from", "2025-01-01", "--to", "2025-03-31", "--by", "month")
    assert got == PORTFOLIO_Q1_BY_MONTH


def test_portfolio_csv_header_and_rows_are_the_contract(cli, book):
    out = cli.ok("report", "portfolio", "--from", "2025-01-01", "--to", "2025-12-31",
                 "--format", "csv").stdout
    rows = _csv(out)
    assert rows[0] == PORTFOLIO_HEADER
    assert rows[1:] == [["" if v is None else str(v) for v in r.values()]
                        for r in PORTFOLIO_2025_BY_PRODUCT]
    excel = cli.ok("report", "portfolio", "--from", "2025-01-01", "--to", "2025-12-31",
                   "--format", "csv", "--excel").stdout
    assert excel.startswith("\ufeffgroup,earned_premium,")


def test_portfolio_month_rows_add_up_to_the_product_total(cli, book):
    by_month = cli.json("report", "portfolio", "--from", "2025-01-01", "--to", "2025-12-31", "--by", "month")
    assert [r["group"] for r in by_month] == [f"2025-{i:02d}" for i in range(1, 13)] + ["(all)"]
    total = by_month[-1]
    assert total == PORTFOLIO_2025_BY_PRODUCT[-1] | {"group": "(all)"}
    assert sum(D(r["claims_incurred"]) for r in by_month[:-1]) == D("685.00")
    # December: CL9 at 23:30 local on the 31st counts; CL10 at 00:30 on 2026-01-01 does not.
    assert by_month[11]["claims_incurred"] == "100.00" and by_month[11]["claims"] == 1
    # Renewals by expiry month: P10 in March, P8 in May, P12 in August, P1 and P7 in December.
    assert [(r["up_for_renewal"], r["renewed"]) for r in by_month[:-1]] == [
        (0, 0), (0, 0), (1, 1), (0, 0), (1, 0), (0, 0), (0, 0), (1, 0), (0, 0), (0, 0), (0, 0), (2, 1)]


def test_portfolio_table_and_chart(cli, book):
    out = cli.ok("report", "portfolio", "--from", "2025-01-01", "--to", "2025-03-31", "--by", "month",
                 "--chart").stdout
    assert "Portfolio by month, 2025-01-01 to 2025-03-31" in out
    assert "Loss ratio by month (%)" in out
    chart = out[out.index("Loss ratio by month"):]
    assert "2025-03" in chart and "92.3" in chart
    assert "(all)" not in chart
    table = cli.ok("report", "portfolio", "--from", "2025-01-01", "--to", "2025-12-31").stdout
    assert "term-life" in table and "3044.77" in table and "Loss ratio by month" not in table


def test_portfolio_an_empty_period_has_the_total_row_only(cli, book):
    got = cli.json("report", "portfolio", "--from", "2030-01-01", "--to", "2030-01-31")
    assert got == _rows(PORTFOLIO_HEADER, ("(all)", "0.00", "0.00", 0, None, 0, 0, None, 0, 0, None,
                                           "0.00", "0.00", None))


def test_portfolio_persistency_shares_a_several_line_premium_so_products_add_up_D4(cli, work):
    """13th-month persistency by product weighs a policy by its yearly premium (after any rate
    loading), shared among its products in proportion to the line premiums, as earned premium.

    END 2026-03-31: the cohort is new business effective 2024-03-01..2025-02-28.
    A: term-life 600 + accident 400, premium 1100 (10 % loading), 24 months from 2025-01-01:
       covered on 2026-02-01 ✓; shares term-life 660, accident 440.
    B: accident 730, premium 803 (10 % loading), 12 months from 2025-02-01: on 2026-03-01 its
       cover ended 2026-01-31 ✗.
    accident: 2 policies, 440 + 803 = 1243, persisting 1 (440): 50.0 %, 440/1243 = 35.4 %
    term-life: 1 policy, 660, persisting: 100.0 %, 100.0 %
    (all): 2 policies, 1100 + 803 = 1903 (= 1243 + 660), persisting 1100: 50.0 %, 57.8 %"""
    with work("sally") as w:
        c = [factories.customer(w, name=f"Customer {i}") for i in (1, 2)]
        _policy(w, c[0], eff=date(2025, 1, 1), term=24, premium="1100.00",
                lines=((TL, "300000.00", "600.00"), (AC, "100000.00", "400.00")))
        _policy(w, c[1], eff=date(2025, 2, 1), premium="803.00",
                lines=((AC, "100000.00", "730.00"),))
    got = cli.json("report", "portfolio", "--from", "2026-01-01", "--to", "2026-03-31")
    cohort = {r["group"]: (r["cohort"], r["persisting"], r["persistency_pct"], r["cohort_premium"],
                           r["persisting_premium"], r["premium_persistency_pct"]) for r in got}
    assert cohort == {
        "accident": (2, 1, "50.0", "1243.00", "440.00", "35.4"),
        "term-life": (1, 1, "100.0", "660.00", "660.00", "100.0"),
        "(all)": (2, 1, "50.0", "1903.00", "1100.00", "57.8"),
    }


# ============================================================================ service

def _staff_id(w, code: str | None) -> int | None:
    if code is None:
        return None
    return w.session.execute(select(m.Staff.id).where(m.Staff.code == code)).scalar_one()


def _fu(w, rule: str, dept: str, who: str | None, status: str, *, due: datetime,
        closed: datetime | None = None, breached: bool | None = None,
        opened: datetime = local(2026, 1, 2, 9, 0)) -> m.FollowUp:
    f = m.FollowUp(rule=rule, kind="rectification" if rule == "rectification" else "sla",
                   subject="C-000001", department=dept, assignee_id=_staff_id(w, who),
                   title=rule, status=status, opened_at=opened, started_at=opened, due_at=due,
                   closed_at=closed, breached=breached, pauses=[], history=[])
    w.session.add(f)
    w.session.flush()
    return f


@pytest.fixture
def service_book(work):
    """Follow-ups (F), revisits (R) and feedback (FB). The February report's as-of instant is the
    end of the period, 2026-03-01 00:00 (earlier than now, 2026-03-02 09:00)."""
    with work("sally") as w:
        cust = factories.customer(w)
    with work("sam") as w:
        cust = w.session.merge(cust)
        FEB = dict(opened=local(2026, 2, 1, 9, 0))
        # SLA clocks closed as done in February (7): on time F1 F3 F5 F11, late F2 F4 F12.
        # F1
        _fu(w, "first-contact", "service", "sam", "done", due=local(2026, 2, 4, 18, 0),
            closed=local(2026, 2, 3, 10, 0), breached=False, **FEB)
        # F2
        _fu(w, "first-contact", "service", "sam", "done", due=local(2026, 2, 5, 18, 0),
            closed=local(2026, 2, 6, 9, 0), breached=True, **FEB)
        # F3
        _fu(w, "claim-first-contact", "claims", "carl", "done", due=local(2026, 2, 10, 10, 30),
            closed=local(2026, 2, 10, 10, 10), breached=False, **FEB)
        # F4
        _fu(w, "claim-first-contact", "claims", "cora", "done", due=local(2026, 2, 11, 10, 30),
            closed=local(2026, 2, 11, 11, 0), breached=True, **FEB)
        # Quarterly revisits (T6) falling due in February: F5 done on time, F6 done late (on
        # 03-01, after the as-of instant: open and overdue at it), F7 still open; F8 cancelled.
        # F5
        _fu(w, "quarterly-revisit", "service", None, "done", due=local(2026, 2, 15, 0, 0),
            closed=local(2026, 2, 14, 10, 0), breached=False, opened=local(2025, 11, 15, 0, 0))
        # F6
        _fu(w, "quarterly-revisit", "service", None, "done", due=local(2026, 2, 20, 0, 0),
            closed=local(2026, 3, 1, 10, 0), breached=True, opened=local(2025, 11, 20, 0, 0))
        # F7
        _fu(w, "quarterly-revisit", "service", None, "open", due=local(2026, 2, 25, 0, 0),
            opened=local(2025, 11, 25, 0, 0))
        # F8
        _fu(w, "quarterly-revisit", "service", None, "cancelled", due=local(2026, 2, 26, 0, 0),
            closed=local(2026, 2, 20, 0, 0), opened=local(2025, 11, 26, 0, 0))
        # Rectification items (Q3).
        # F9 open, overdue
        _fu(w, "rectification", "service", "sam", "open", due=local(2026, 2, 27, 18, 0),
            opened=local(2026, 1, 20, 9, 0))
        # F10 open
        _fu(w, "rectification", "claims", "carl", "open", due=local(2026, 3, 20, 18, 0),
            opened=local(2026, 2, 10, 9, 0))
        # F11
        _fu(w, "rectification", "sales", "sally", "done", due=local(2026, 2, 10, 18, 0),
            closed=local(2026, 2, 9, 9, 0), breached=False, opened=local(2026, 1, 5, 9, 0))
        # F12
        _fu(w, "rectification", "sales", "sid", "done", due=local(2026, 2, 12, 18, 0),
            closed=local(2026, 2, 16, 9, 0), breached=True, opened=local(2026, 1, 5, 9, 0))
        # F13 paused: never counted
        _fu(w, "premium-overdue", "service", None, "paused", due=local(2026, 2, 1, 0, 0))
        # F14 open, overdue
        _fu(w, "underwriting-decision", "underwriting", "uma", "open", due=local(2026, 2, 28, 10, 0),
            opened=local(2026, 2, 20, 9, 0))
        # F15 done 03-01
        _fu(w, "feedback-resolution", "service", "sam", "done", due=local(2026, 2, 26, 10, 0),
            closed=local(2026, 3, 1, 12, 0), breached=True, opened=local(2026, 2, 25, 9, 0))
        # F16 January
        _fu(w, "application-status-check", "sales", "sally", "done", due=local(2026, 1, 16, 9, 0),
            closed=local(2026, 1, 15, 9, 0), breached=False)
        # F17 January
        _fu(w, "rectification", "service", "sam", "done", due=local(2026, 1, 12, 9, 0),
            closed=local(2026, 1, 10, 9, 0), breached=False)

        def revisit(n, kind, who, score, when):
            w.session.add(m.Revisit(code=f"R-{n:06d}", customer_id=cust.id, kind=kind, channel="phone",
                                    satisfaction=score, occurred_at=when, actor_id=_staff_id(w, who)))

        revisit(1, "first_contact", "sam", 5, local(2026, 2, 3, 10, 0))
        revisit(2, "quarterly", "sam", 4, local(2026, 2, 14, 10, 0))
        revisit(3, "quarterly", "sam", 2, local(2026, 2, 27, 10, 0))
        revisit(4, "post_claim", "carl", 5, local(2026, 2, 18, 10, 0))
        revisit(5, "ad_hoc", "sam", None, local(2026, 2, 20, 10, 0))
        revisit(6, "quarterly", "sam", 3, local(2026, 1, 10, 10, 0))     # January: out
        revisit(7, "quarterly", "sam", 5, local(2026, 3, 1, 0, 30))      # March (local): out

        def fb(n, kind, status, opened, resolved=None):
            w.session.add(m.Feedback(code=f"F-{n:06d}", customer_id=cust.id, kind=kind, channel="phone",
                                     summary="s", status=status, department="service",
                                     opened_at=opened, opened_by_id=_staff_id(w, "sam"),
                                     resolved_at=resolved))

        # 6.5 h
        fb(1, "complaint", "closed", local(2026, 2, 2, 9, 0), local(2026, 2, 2, 15, 30))
        # 48 h
        fb(2, "complaint", "resolved", local(2026, 2, 3, 10, 0), local(2026, 2, 5, 10, 0))
        fb(3, "complaint", "transferred", local(2026, 2, 20, 9, 0))
        # 0.75 h
        fb(4, "question", "closed", local(2026, 2, 10, 9, 0), local(2026, 2, 10, 9, 45))
        # 168 h, opened in Jan
        fb(5, "request", "closed", local(2026, 1, 25, 9, 0), local(2026, 2, 1, 9, 0))
        fb(6, "request", "open", local(2026, 2, 27, 9, 0))
        # resolved in March
        fb(7, "question", "resolved", local(2026, 2, 26, 10, 0), local(2026, 3, 1, 10, 0))
    return None


FEB = ("--from", "2026-02-01", "--to", "2026-02-28")
SLA_HEADER = ["group", "closed", "on_time", "late", "compliance_pct", "open_overdue"]
REVISITS_HEADER = ["group", "due", "done", "done_on_time", "coverage_pct", "on_time_coverage_pct"]
SATISFACTION_HEADER = ["group", "revisits", "rated", "average", "promoters", "passives", "detractors", "nps"]
FEEDBACK_HEADER = ["kind", "opened", "open", "transferred", "resolved", "closed", "resolved_in_period",
                   "median_hours", "p90_hours"]
RECTIFICATION_HEADER = ["department", "open", "open_overdue", "done_on_time", "done_late"]

# Open and overdue at 2026-03-01 00:00: F6 (done only on 03-01 10:00, due 02-20), F7 (due 02-25),
# F9 (02-27), F14 (02-28), F15 (done 03-01 12:00, due 02-26). Not: F8 (cancelled 02-20), F10 (due
# 03-20), F13 (paused). Closed in February as done: F1-F5, F11, F12 = 7, on time 4 → 57.1.
SLA_FEB_BY_RULE = _rows(
    SLA_HEADER,
    ("claim-first-contact", 2, 1, 1, "50.0", 0),     # F3 on time, F4 late
    ("feedback-resolution", 0, 0, 0, None, 1),       # F15 open overdue at the as-of instant
    ("first-contact", 2, 1, 1, "50.0", 0),           # F1, F2
    ("quarterly-revisit", 1, 1, 0, "100.0", 2),      # F5; F6, F7 overdue
    ("rectification", 2, 1, 1, "50.0", 1),           # F11, F12; F9 overdue
    ("underwriting-decision", 0, 0, 0, None, 1),     # F14
    ("(all)", 7, 4, 3, "57.1", 5),
)
SLA_FEB_BY_DEPARTMENT = _rows(
    SLA_HEADER,
    ("claims", 2, 1, 1, "50.0", 0),
    ("sales", 2, 1, 1, "50.0", 0),                   # F11, F12
    ("service", 3, 2, 1, "66.7", 4),                 # F1 F2 F5; F6 F7 F9 F15
    ("underwriting", 0, 0, 0, None, 1),
    ("(all)", 7, 4, 3, "57.1", 5),
)
SLA_FEB_BY_STAFF = _rows(
    SLA_HEADER,
    ("(none)", 1, 1, 0, "100.0", 2),                 # the service queue: F5; F6, F7
    ("carl", 1, 1, 0, "100.0", 0),
    ("cora", 1, 0, 1, "0.0", 0),
    ("sally", 1, 1, 0, "100.0", 0),
    ("sam", 2, 1, 1, "50.0", 2),                     # F1 F2; F9 F15
    ("sid", 1, 0, 1, "0.0", 0),
    ("uma", 0, 0, 0, None, 1),
    ("(all)", 7, 4, 3, "57.1", 5),
)
# Default period 2026-01-01..2026-03-02: the as-of instant is now (09:00 on 03-02). Closed as
# done: January F16, F17 (on time); February the 7 above; March F6 and F15 (both late).
# Open and overdue now: F7, F9, F14 (deadlines in February). 6 on time of 11 → 54.5.
SLA_YTD_BY_MONTH = _rows(
    SLA_HEADER,
    ("2026-01", 2, 2, 0, "100.0", 0),
    ("2026-02", 7, 4, 3, "57.1", 3),
    ("2026-03", 2, 0, 2, "0.0", 0),
    ("(all)", 11, 6, 5, "54.5", 3),
)
# Quarterly revisits due in February: F5 (done on time), F6 (done late), F7 (open); F8 cancelled.
REVISITS_FEB_BY_RULE = _rows(
    REVISITS_HEADER,
    ("quarterly-revisit", 3, 2, 1, "66.7", "33.3"),
    ("(all)", 3, 2, 1, "66.7", "33.3"),
)
# Revisits in February: R1 first_contact 5, R2 quarterly 4, R3 quarterly 2, R4 post_claim 5,
# R5 ad hoc unrated. Promoters 5, passives 4, detractors 1-3.
#   all: rated 4, average (5+4+2+5)/4 = 4.00, P 2, p 1, D 1, nps (2-1)/4 = 25.0
#   quarterly: (4+2)/2 = 3.00, nps (0-1)/2 = -50.0
SATISFACTION_FEB_BY_RULE = _rows(
    SATISFACTION_HEADER,
    ("(none)", 1, 0, None, 0, 0, 0, None),
    ("first-contact", 1, 1, "5.00", 1, 0, 0, "100.0"),
    ("post-claim-revisit", 1, 1, "5.00", 1, 0, 0, "100.0"),
    ("quarterly-revisit", 2, 2, "3.00", 0, 1, 1, "-50.0"),
    ("(all)", 5, 4, "4.00", 2, 1, 1, "25.0"),
)
# By the person who made the revisit: sam R1 R2 R3 R5: (5+4+2)/3 = 3.666… → 3.67, nps (1-1)/3 = 0.0.
SATISFACTION_FEB_BY_DEPARTMENT = _rows(
    SATISFACTION_HEADER,
    ("claims", 1, 1, "5.00", 1, 0, 0, "100.0"),
    ("service", 4, 3, "3.67", 1, 1, 1, "0.0"),
    ("(all)", 5, 4, "4.00", 2, 1, 1, "25.0"),
)
# Opened in February, by status now: complaints FB1 closed, FB2 resolved, FB3 transferred;
# questions FB4 closed, FB7 resolved; requests FB6 open. Resolved in February: FB1 6.5 h, FB2 48 h,
# FB4 0.75 h, FB5 168 h (opened in January). Nearest rank: [0.75, 6.5, 48, 168] median = 2nd =
# 6.5, p90 = ceil(3.6) = 4th = 168.
FEEDBACK_FEB = _rows(
    FEEDBACK_HEADER,
    ("complaint", 3, 0, 1, 1, 1, 2, 6.5, 48.0),
    ("question", 2, 0, 0, 1, 1, 1, 0.75, 0.75),
    ("request", 1, 1, 0, 0, 0, 1, 168.0, 168.0),
    ("(all)", 6, 1, 1, 2, 2, 4, 6.5, 168.0),
)
# At 2026-03-01 00:00: F9 (service) open and overdue, F10 (claims) open; done in February: F11
# (sales) on time, F12 (sales) late. F17 was done in January.
RECTIFICATION_FEB = _rows(
    RECTIFICATION_HEADER,
    ("sales", 0, 0, 1, 1),
    ("service", 0, 1, 0, 0),
    ("underwriting", 0, 0, 0, 0),
    ("claims", 1, 0, 0, 0),
    ("manager", 0, 0, 0, 0),
    ("(all)", 1, 1, 1, 1),
)


def test_service_json_has_every_section_Q1_Q2_Q4(cli, service_book):
    got = cli.json("report", "service", *FEB)
    assert list(got) == ["from", "to", "as_of", "sla", "revisits", "satisfaction", "feedback",
                         "rectification"]
    assert (got["from"], got["to"], got["as_of"]) == ("2026-02-01", "2026-02-28",
                                                      "2026-03-01T00:00:00+08:00")
    assert got["sla"] == SLA_FEB_BY_RULE
    assert got["revisits"] == REVISITS_FEB_BY_RULE
    assert got["satisfaction"] == SATISFACTION_FEB_BY_RULE
    assert got["feedback"] == FEEDBACK_FEB
    assert got["rectification"] == RECTIFICATION_FEB


def test_service_by_department_and_staff_Q4(cli, service_book):
    got = cli.json("report", "service", *FEB, "--by", "department")
    assert got["sla"] == SLA_FEB_BY_DEPARTMENT
    assert got["revisits"] == _rows(REVISITS_HEADER, ("service", 3, 2, 1, "66.7", "33.3"),
                                    ("(all)", 3, 2, 1, "66.7", "33.3"))
    assert got["satisfaction"] == SATISFACTION_FEB_BY_DEPARTMENT
    assert got["feedback"] == FEEDBACK_FEB and got["rectification"] == RECTIFICATION_FEB
    got = cli.json("report", "service", *FEB, "--by", "staff", "--section", "sla")
    assert list(got) == ["from", "to", "as_of", "sla"]
    assert got["sla"] == SLA_FEB_BY_STAFF
    sat = cli.json("report", "service", *FEB, "--by", "staff", "--section", "satisfaction")
    assert sat["satisfaction"] == _rows(SATISFACTION_HEADER,
                                        ("carl", 1, 1, "5.00", 1, 0, 0, "100.0"),
                                        ("sam", 4, 3, "3.67", 1, 1, 1, "0.0"),
                                        ("(all)", 5, 4, "4.00", 2, 1, 1, "25.0"))
    rev = cli.json("report", "service", *FEB, "--by", "staff", "--section", "revisits")
    assert rev["revisits"] == _rows(REVISITS_HEADER, ("(none)", 3, 2, 1, "66.7", "33.3"),
                                    ("(all)", 3, 2, 1, "66.7", "33.3"))


def test_service_by_month_over_the_default_period_as_of_now(cli, service_book):
    got = cli.json("report", "service", "--by", "month")
    assert (got["from"], got["to"], got["as_of"]) == ("2026-01-01", "2026-03-02",
                                                      "2026-03-02T09:00:00+08:00")
    assert got["sla"] == SLA_YTD_BY_MONTH
    # Quarterly revisits by the month of their deadline: all three in February.
    assert got["revisits"] == _rows(REVISITS_HEADER, ("2026-01", 0, 0, 0, None, None),
                                    ("2026-02", 3, 2, 1, "66.7", "33.3"),
                                    ("2026-03", 0, 0, 0, None, None),
                                    ("(all)", 3, 2, 1, "66.7", "33.3"))
    # R6 (January, 3) and R7 (00:30 on 03-01, 5) now count too.
    assert got["satisfaction"] == _rows(SATISFACTION_HEADER,
                                        ("2026-01", 1, 1, "3.00", 0, 0, 1, "-100.0"),
                                        ("2026-02", 5, 4, "4.00", 2, 1, 1, "25.0"),
                                        ("2026-03", 1, 1, "5.00", 1, 0, 0, "100.0"),
                                        ("(all)", 7, 6, "4.00", 3, 1, 2, "16.7"))
    # Now: F9 open and overdue, F10 open; done in the period: F11, F17 on time, F12 late.
    assert got["rectification"][-1] == {"department": "(all)", "open": 1, "open_overdue": 1,
                                        "done_on_time": 2, "done_late": 1}


def test_service_csv_is_one_section_sla_by_default(cli, service_book):
    rows = _csv(cli.ok("report", "service", *FEB, "--format", "csv").stdout)
    assert rows[0] == SLA_HEADER
    assert rows[1:] == [["" if v is None else str(v) for v in r.values()] for r in SLA_FEB_BY_RULE]
    for section, header, expected in (("revisits", REVISITS_HEADER, REVISITS_FEB_BY_RULE),
                                      ("satisfaction", SATISFACTION_HEADER, SATISFACTION_FEB_BY_RULE),
                                      ("feedback", FEEDBACK_HEADER, FEEDBACK_FEB),
                                      ("rectification", RECTIFICATION_HEADER, RECTIFICATION_FEB)):
        rows = _csv(cli.ok("report", "service", *FEB, "--format", "csv", "--section", section).stdout)
        assert rows[0] == header
        assert rows[1:] == [["" if v is None else str(v) for v in r.values()] for r in expected]


def test_service_table_and_chart(cli, service_book):
    res = cli.ok("report", "service", *FEB, "--chart")
    out = res.stdout
    for title in ("SLA compliance by rule", "Quarterly revisit coverage", "Satisfaction by rule",
                  "Feedback by kind", "Rectification items by department",
                  "SLA compliance by month (%)"):
        assert title in out
    chart = out[out.index("SLA compliance by month (%)"):]
    assert "2026-02" in chart and "57.1" in chart
    assert "Open figures as of 2026-03-01 00:00" in res.stderr
    by_month = cli.ok("report", "service", "--by", "month", "--section", "sla", "--chart").stdout
    assert by_month.count("2026-03") >= 2 and "SLA compliance by month (%)" in by_month


# ============================================================================ risk

@pytest.fixture
def risk_book(work):
    """Customers (code: rating, level): C1 A low, C2 A medium, C3 B high, C4 C low, C5 D high,
    C6 unrated, C7 B no level, C8 A low (added today, 2026-03-02; the others on 2026-01-05).
    The end date is today, 2026-03-02, unless a test says otherwise."""
    with work("sally") as w:
        ratings = [("A", "low"), ("A", "medium"), ("B", "high"), ("C", "low"), ("D", "high"),
                   (None, None), ("B", None), ("A", "low")]
        cs = []
        for i, (rating, level) in enumerate(ratings, start=1):
            c = factories.customer(w, name=f"Customer {i}")
            c.credit_rating, c.risk_level = rating, level
            if i < 8:
                c.created_at = local(2026, 1, 5, 9, 0)
            cs.append(c)
        k1, k2, k3, k4, k5, k6, k7, k8 = cs
        # P1 C3 (high) monthly 100: paid 12-01; 01-01 unpaid (60 days on 03-02), 02-01 paid 40
        #   of 100 (29 days), 03-01 unpaid (1 day); 04-01 not due yet.
        q1 = factories.policy(w, k3, frequency="monthly", effective=date(2025, 12, 1),
                              lines=((TL, "200000.00", "1200.00"),))
        inst = {i.seq: i for i in w.session.execute(
            select(m.Installment).where(m.Installment.policy_id == q1.id)).scalars()}
        inst[3].paid_amount, inst[3].status = D("40.00"), "partially_paid"
        # P2 C5 (D, high) quarterly 912.50, suspended: paid 2025-09-01; 12-01 unpaid (91 days),
        #   03-01 unpaid (1 day).
        q2 = factories.policy(w, k5, frequency="quarterly", status="suspended",
                              effective=date(2025, 9, 1), lines=((TL, "300000.00", "3650.00"),))
        q2.suspended_at = local(2026, 2, 5, 9, 0)
        # P3 C1 issued, never in force: its unpaid first installment is no debt.
        factories.policy(w, k1, status="issued", effective=date(2026, 2, 1))
        # P4 C4 (C) in force, nothing overdue.
        q4 = factories.policy(w, k4, effective=date(2026, 2, 1), lines=((AC, "300000.00", "500.00"),))
        # P5 C5 (D) in force, nothing overdue.
        q5 = factories.policy(w, k5, effective=date(2026, 1, 15), lines=((TL, "500000.00", "2000.00"),))
        # P6 C2 cancelled: installments cancelled.
        q6 = factories.policy(w, k2, status="cancelled", frequency="monthly", effective=date(2025, 10, 1))
        for i in w.session.execute(select(m.Installment).where(m.Installment.policy_id == q6.id,
                                                               m.Installment.status == "due")).scalars():
            i.status = "cancelled"
        # P7 C7 monthly 50: paid 02-02; the next falls due 03-02, the end date itself: not overdue.
        q7 = factories.policy(w, k7, frequency="monthly", effective=date(2026, 2, 2),
                              lines=((TL, "200000.00", "600.00"),))
        w.session.flush()
    with work("carl") as w:
        def claim(pol, status, claimed, reported, approved=None):
            c = factories.claim(w, pol, status=status, amount=claimed, approved_amount=approved,
                                incident_at=reported)
            c.reported_at = reported
            return c

        # CL1 C3 high, 10 days
        claim(q1, "investigating", "5000.00", local(2026, 2, 20, 10, 0))
        # CL2 paid: not open
        claim(q5, "paid", "3000.00", local(2026, 1, 20, 10, 0), "3000.00")
        # CL3 C5 high, 1500, 29 days
        claim(q5, "approved", "1800.00", local(2026, 2, 1, 10, 0), "1500.00")
        # CL4 large, 1 day
        claim(q7, "reported", "150000.00", local(2026, 3, 1, 10, 0))
        # CL5 approved 90000 < 100000
        claim(q4, "approved", "200000.00", local(2026, 2, 10, 10, 0), "90000.00")
        # CL6 rejected: not open
        claim(q7, "rejected", "120000.00", local(2026, 2, 11, 10, 0))
        # CL7 C5 high and large, 0 days
        claim(q5, "contacted", "100000.00", local(2026, 3, 2, 8, 0))
    return None


RATINGS_HEADER = ["credit_rating", "low", "medium", "high", "unrated", "total"]
OVERDUE_HEADER = ["band", "installments", "amount_owed", "policies", "customers"]
ATTENTION_HEADER = ["reason", "customer", "name", "risk_level", "credit_rating", "policy", "claim",
                    "amount", "days"]

RATINGS = _rows(
    RATINGS_HEADER,
    ("A", 2, 1, 0, 0, 3),          # C1, C8 low; C2 medium
    ("B", 0, 0, 1, 1, 2),          # C3 high; C7 no level
    ("C", 1, 0, 0, 0, 1),
    ("D", 0, 0, 1, 0, 1),
    ("(none)", 0, 0, 0, 1, 1),     # C6
    ("(all)", 3, 1, 2, 2, 8),
)
# On 2026-03-02: 0-30: P1 02-01 (owes 60) and 03-01 (100), P2 03-01 (912.50) → 1072.50;
# 31-60: P1 01-01 (100); over 60: P2 2025-12-01 (912.50). All: 5 installments, 2085.00, P1 P2, C3 C5.
OVERDUE = _rows(
    OVERDUE_HEADER,
    ("0-30", 3, "1072.50", 2, 2),
    ("31-60", 1, "100.00", 1, 1),
    ("over 60", 1, "912.50", 1, 1),
    ("(all)", 5, "2085.00", 2, 2),
)
ATTENTION = _rows(
    ATTENTION_HEADER,
    ("high-risk-overdue", "C-000003", "Customer 3", "high", "B", "P-000001", None, "260.00", 60),
    ("high-risk-overdue", "C-000005", "Customer 5", "high", "D", "P-000002", None, "1825.00", 91),
    ("high-risk-open-claim", "C-000003", "Customer 3", "high", "B", "P-000001", "CL-000001", "5000.00", 10),
    ("high-risk-open-claim", "C-000005", "Customer 5", "high", "D", "P-000005", "CL-000003", "1500.00", 29),
    ("high-risk-open-claim", "C-000005", "Customer 5", "high", "D", "P-000005", "CL-000007", "100000.00", 0),
    ("poor-credit-in-force", "C-000004", "Customer 4", "low", "C", "P-000004", None, "300000.00", None),
    ("poor-credit-in-force", "C-000005", "Customer 5", "high", "D", "P-000005", None, "500000.00", None),
    ("large-open-claim", "C-000005", "Customer 5", "high", "D", "P-000005", "CL-000007", "100000.00", 0),
    ("large-open-claim", "C-000007", "Customer 7", None, "B", "P-000007", "CL-000004", "150000.00", 1),
)


def test_risk_json_has_every_section_K1_K2_K3(cli, risk_book):
    got = cli.json("report", "risk")
    assert list(got) == ["to", "ratings", "overdue", "attention"]
    assert got["to"] == "2026-03-02"
    assert got["ratings"] == RATINGS
    assert got["overdue"] == OVERDUE
    assert got["attention"] == ATTENTION


def test_risk_csv_is_the_attention_list_by_default(cli, risk_book):
    rows = _csv(cli.ok("report", "risk", "--format", "csv").stdout)
    assert rows[0] == ATTENTION_HEADER
    assert rows[1:] == [["" if v is None else str(v) for v in r.values()] for r in ATTENTION]
    for section, header, expected in (("ratings", RATINGS_HEADER, RATINGS),
                                      ("overdue", OVERDUE_HEADER, OVERDUE)):
        rows = _csv(cli.ok("report", "risk", "--format", "csv", "--section", section).stdout)
        assert rows[0] == header
        assert rows[1:] == [["" if v is None else str(v) for v in r.values()] for r in expected]


def test_risk_large_claim_threshold_and_end_date(cli, risk_book):
    got = cli.json("report", "risk", "--large-claim", "90000", "--section", "attention")
    large = [(r["customer"], r["claim"], r["amount"]) for r in got["attention"]
             if r["reason"] == "large-open-claim"]
    assert large == [("C-000004", "CL-000005", "90000.00"), ("C-000005", "CL-000007", "100000.00"),
                     ("C-000007", "CL-000004", "150000.00")]
    # Ending 2026-03-01: C8 (added 03-02) is not counted; CL7 (reported 03-02) is not open yet;
    # ages shift by a day and the 03-01 installments are not overdue yet.
    got = cli.json("report", "risk", "--to", "2026-03-01")
    assert got["ratings"][0] == {"credit_rating": "A", "low": 1, "medium": 1, "high": 0, "unrated": 0,
                                 "total": 2}
    assert got["ratings"][-1]["total"] == 7
    # 0-30: P1 02-01 (28 days, 60); 31-60: P1 01-01 (59 days, 100); over 60: P2 12-01 (90, 912.50).
    assert got["overdue"] == _rows(OVERDUE_HEADER, ("0-30", 1, "60.00", 1, 1),
                                   ("31-60", 1, "100.00", 1, 1), ("over 60", 1, "912.50", 1, 1),
                                   ("(all)", 3, "1072.50", 2, 2))
    assert [r["claim"] for r in got["attention"] if r["claim"]] == ["CL-000001", "CL-000003",
                                                                    "CL-000004"]


def test_risk_table(cli, risk_book):
    out = cli.ok("report", "risk").stdout
    for title in ("Customers by credit rating and risk level", "Overdue premium by days overdue",
                  "High-risk items needing attention"):
        assert title in out
    assert "poor-credit-in-force" in out and "1825.00" in out


def test_risk_table_shows_the_first_items_and_says_how_many_K2(cli, risk_book):
    """A big book has thousands of attention items: a table shows --limit of them, in the
    report's order, and says so; json and csv have them all unless --limit says."""
    every = cli.json("report", "risk", "--section", "attention")["attention"]
    assert len(every) > 2
    shown = cli.ok("report", "risk", "--section", "attention", "--limit", "2")
    assert f"showing the first 2 of {len(every)} items" in shown.stderr
    lines = [l for l in shown.stdout.splitlines() if l.startswith(" ") and "reason" not in l]
    assert len(lines) == 2 and every[0]["reason"] in lines[0]
    for k in range(1, len(every) + 2):   # every cut, in each reason (read as far as needed)
        assert cli.json("report", "risk", "--section", "attention", "--limit", str(k))[
            "attention"] == every[:k], k
    assert "showing" not in cli.ok("report", "risk", "--limit", "0").stderr


# ============================================================================ bad input

@pytest.mark.parametrize("args, expect", [
    (["report", "portfolio", "--by", "staff"], "--by 'staff'"),
    (["report", "service", "--by", "product"], "--by 'product'"),
    (["report", "portfolio", "--from", "2026-03-01", "--to", "2026-02-01"], "--from"),
    (["report", "service", "--from", "2026-02-30"], "--from"),
    (["report", "risk", "--to", "02/03/2026"], "--to"),
    (["report", "service", "--section", "nope"], "--section 'nope'"),
    (["report", "risk", "--section", "sla"], "--section 'sla'"),
    (["report", "risk", "--large-claim", "lots"], "--large-claim"),
    (["report", "risk", "--large-claim", "0"], "--large-claim"),
    (["report", "portfolio", "--chart"], "--chart"),
    (["report", "risk", "--by", "month"], "--by"),
    (["report", "portfolio", "--format", "xml"], "--format"),
])
def test_bad_input_exits_2_and_names_the_option(cli, args, expect):
    cli.fails(2, *args, expect=expect)


def test_reports_run_on_an_empty_book(cli):
    for args in (["report", "portfolio", "--by", "month", "--chart"], ["report", "service", "--chart"],
                 ["report", "risk"]):
        cli.ok(*args)
    assert cli.json("report", "risk", "--section", "attention") == {"to": "2026-03-02", "attention": []}


def test_earned_premium_rounding_holds_for_a_large_book():
    """Sums carried at 60 digits round to the cent, half a cent up, whatever their size."""
    from insurtrack.reports.portfolio import _cents

    assert _cents(D("123456789012.3449999999")) == D("123456789012.34")
    # Within 1e-20 of a half cent is division drift, not a value: it rounds as the half cent.
    assert _cents(D("123456789012.344999999999999999999999999999")) == D("123456789012.35")
    assert _cents(D(1) / 366 * 183 / 100) == D("0.01")     # exactly half a cent, computed with drift
    assert _cents(D("98765432109876.005")) == D("98765432109876.01")
