"""`insurtrack report pipeline | sales | tendency | claims` (D4; L3-L7, T4, T9-T12): every figure
of every grouping checked against a small book whose answers are worked out by hand below.

The period is January and February 2026 (local dates, Asia/Shanghai). The book has records just
outside it on both sides, including instants whose UTC date is in the period but whose local date
is not (2026-03-01 00:30 local is 2026-02-28 16:30 UTC), and the reverse.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from insurtrack.domain import models as m
from tests import factories
from tests.conftest import local

D = Decimal
PERIOD = ["--from", "2026-01-01", "--to", "2026-02-28"]


# --------------------------------------------------------------------------------- the book
#
# Customers            kind     born        region    source    owner
#   C1 Li Na           person   1990-06-15  Shanghai  referral  sally   (35 all period: 35-44)
#   C2 Wang Wei        person   1961-02-10  Beijing   web       sid     (64 in Jan: 55-64; 65 from
#                                                                        10 Feb: 65 and over)
#   C3 Acme Ltd        company  2010-01-01  Shanghai  -         sally   ("company")
#   C4 Zhao Min        person   2003-01-20  -         web       sid     (23: under 25)
#
# Applications (all times local; "dec" = decided)
#   A1 sally term-life          created 01-05 10:00 submitted 01-06 10:00 accepted 01-08 10:00,
#                               issued as P1 01-10 10:00                        status issued
#   A2 sally term-life+medical  created 01-10 09:00 submitted 01-12 09:00, info requested 01-13
#                               09:00, received 01-16 09:00, accepted 01-19 09:00 status accepted
#   A3 sid   medical            created 01-20 12:00 submitted 01-21 12:00, info requested 01-31
#                               12:00, declined while waiting 02-03 12:00 "high risk"
#   A4 sid   term-life          created 2025-12-20 submitted 2025-12-22 10:00, declined 02-10
#                               10:00 "high risk"                               status declined
#   A5 sally medical            created 02-01 00:15 (31 Jan in UTC: February locally)
#                               submitted 02-03 10:00, withdrawn 02-05 10:00
#   A6 sid   term-life          created 02-20 10:00                            status draft
#   A7 sally term-life          created 01-01 00:30 (2025-12-31 UTC: in January locally)
#                               submitted 02-25 10:00, declined 03-01 10:00 (after the period)
#   A8 sid   medical            created 2025-12-28, submitted 2025-12-30 10:00, accepted
#                               2025-12-31 10:00, issued as P2 01-02 10:00      status issued
#   A9 sally term-life          created 02-10 10:00 submitted 02-11 10:00, declined 02-12 22:00
#                               "incomplete history"                            status declined
#
# Policies                issued             customer owner premium  lines (line premiums)
#   P0                    2025-02-20 10:00   C2       sid   1000.00  term-life 1000
#   P1 (from A1)          2026-01-10 10:00   C1       sally 1200.00  term-life 1200
#   P2 (from A8)          2026-01-02 10:00   C2       sid    880.00  medical 800 (+10% loading)
#   P3                    2026-02-14 10:00   C3       sally  310.00  term-life 100, medical 100,
#                                                                    accident 100
#   P4 (renews P0)        2026-02-20 10:00   C2       sid   1000.00  term-life 1000
#   P5 (cancelled since)  2026-02-28 23:30   C4       sid    500.00  medical 500
#   P6                    2026-03-01 00:30   C1       sally  999.00  term-life 999 (after the
#                                                                    period locally; Feb in UTC)
#   P7                    2026-02-01 06:00   C1       sally  600.00  accident 600 (31 Jan in
#                                                                    UTC: February locally)
#
# Claims   policy product    cause     claimed  reported        contacted      decided / amount
#   K1     P1     term-life  accident  10000    01-05 10:00     +20 min        approved 01-15 10:00
#                                                                              8000, paid 01-20 10:00
#   K2     P2     medical    illness    5000    01-10 09:00     +45 min        rejected 02-09 09:00
#   K3     P3     medical    illness    3000    2025-12-28 10:00 +5 min        approved 01-04 10:00
#                                                                              2500, paid 02-03 10:00
#   K4     P7     accident   accident   2000    02-01 07:30     not yet        -
#                                               (31 Jan in UTC: February locally)
#   K5     P1     term-life  -          1000    02-20 08:00     +10 min        approved 02-25 20:00
#                                                                              900, not paid
#   K6     P3     -          fire        700    02-28 23:50     03-01 00:20    -
#   K7     P2     medical    illness     400    03-01 00:10 (after the period locally)


def _customer(w, name, owner, kind, born, region, source):
    c = factories.customer(w, name=name, owner=owner, kind=kind, birth_date=born, region=region)
    c.source = source
    return c


def _app(w, cust, owner, products, created, *, status, submitted=None, decided=None,
         decision=None, reason=None):
    a = factories.application(w, cust, status=status, owner=owner,
                              lines=tuple((p, "100000.00", "1000.00") for p in products))
    a.created_at, a.submitted_at, a.decided_at = created, submitted, decided
    a.decision, a.decline_reason = decision, reason
    return a


def _event(w, type_, app, when):
    w.session.add(m.Event(type=type_, subject=app.code, customer_id=app.customer_id,
                          occurred_at=when, recorded_at=w.now(), actor_id=w.actor.id, payload={}))


def _policy(w, cust, issued, premium, lines, *, owner, app=None, renews=None, status="in_force"):
    p = factories.policy(w, cust, status=status, lines=tuple(
        (product, "100000.00", line_premium) for product, line_premium in lines))
    p.issued_at, p.premium, p.owner_id = issued, D(premium), owner.id
    p.application_id = app.id if app else None
    p.renewed_from_id = renews.id if renews else None
    return p


def _claim(w, pol, product, cause, claimed, reported, *, contacted=None, approved=None,
           amount=None, rejected=None, paid=None, status="reported"):
    c = factories.claim(w, pol, status=status, amount=claimed)
    c.product, c.cause, c.reported_at, c.contacted_at = product, cause, reported, contacted
    c.approved_at, c.approved_amount, c.rejected_at = approved, amount and D(amount), rejected
    c.paid_at, c.paid_amount = paid, (D(amount) if paid else None)
    return c


@pytest.fixture
def book(work, staff):
    sally, sid = staff["sally"], staff["sid"]
    with work("sally") as w:
        c1 = _customer(w, "Li Na", "sally", "person", date(1990, 6, 15), "Shanghai", "referral")
        c2 = _customer(w, "Wang Wei", "sid", "person", date(1961, 2, 10), "Beijing", "web")
        c3 = _customer(w, "Acme Ltd", "sally", "company", date(2010, 1, 1), "Shanghai", None)
        c4 = _customer(w, "Zhao Min", "sid", "person", date(2003, 1, 20), None, "web")

        a1 = _app(w, c1, sally, ["term-life"], local(2026, 1, 5, 10, 0), status="issued",
                  submitted=local(2026, 1, 6, 10, 0), decided=local(2026, 1, 8, 10, 0),
                  decision="accept")
        a2 = _app(w, c1, sally, ["term-life", "medical"], local(2026, 1, 10, 9, 0),
                  status="accepted", submitted=local(2026, 1, 12, 9, 0),
                  decided=local(2026, 1, 19, 9, 0), decision="accept")
        a3 = _app(w, c2, sid, ["medical"], local(2026, 1, 20, 12, 0), status="declined",
                  submitted=local(2026, 1, 21, 12, 0), decided=local(2026, 2, 3, 12, 0),
                  decision="decline", reason="high risk")
        _app(w, c2, sid, ["term-life"], local(2025, 12, 20, 10, 0), status="declined",
             submitted=local(2025, 12, 22, 10, 0), decided=local(2026, 2, 10, 10, 0),
             decision="decline", reason="high risk")
        a5 = _app(w, c1, sally, ["medical"], local(2026, 2, 1, 0, 15), status="submitted",
                  submitted=local(2026, 2, 3, 10, 0))
        _app(w, c2, sid, ["term-life"], local(2026, 2, 20, 10, 0), status="draft")
        _app(w, c3, sally, ["term-life"], local(2026, 1, 1, 0, 30), status="declined",
             submitted=local(2026, 2, 25, 10, 0), decided=local(2026, 3, 1, 10, 0),
             decision="decline", reason="incomplete history")
        a8 = _app(w, c2, sid, ["medical"], local(2025, 12, 28, 10, 0), status="issued",
                  submitted=local(2025, 12, 30, 10, 0), decided=local(2025, 12, 31, 10, 0),
                  decision="accept")
        _app(w, c3, sally, ["term-life"], local(2026, 2, 10, 10, 0), status="declined",
             submitted=local(2026, 2, 11, 10, 0), decided=local(2026, 2, 12, 22, 0),
             decision="decline", reason=" incomplete history ")
        _event(w, "application.info_requested", a2, local(2026, 1, 13, 9, 0))
        _event(w, "application.info_received", a2, local(2026, 1, 16, 9, 0))
        _event(w, "application.info_requested", a3, local(2026, 1, 31, 12, 0))
        w.session.flush()
    with work("sally") as w:  # the withdrawal through the service: its event places it in time
        from insurtrack.services import applications

        applications.withdraw(w, a5.code, reason="found a cheaper offer",
                              at=local(2026, 2, 5, 10, 0))

    with work("sally") as w:
        p0 = _policy(w, c2, local(2025, 2, 20, 10, 0), "1000.00", [("term-life", "1000.00")],
                     owner=sid, status="expired")
        p1 = _policy(w, c1, local(2026, 1, 10, 10, 0), "1200.00", [("term-life", "1200.00")],
                     owner=sally, app=a1)
        p2 = _policy(w, c2, local(2026, 1, 2, 10, 0), "880.00", [("medical", "800.00")],
                     owner=sid, app=a8)
        p3 = _policy(w, c3, local(2026, 2, 14, 10, 0), "310.00",
                     [("term-life", "100.00"), ("medical", "100.00"), ("accident", "100.00")],
                     owner=sally)
        _policy(w, c2, local(2026, 2, 20, 10, 0), "1000.00", [("term-life", "1000.00")],
                owner=sid, renews=p0)
        _policy(w, c4, local(2026, 2, 28, 23, 30), "500.00", [("medical", "500.00")], owner=sid,
                status="cancelled")
        _policy(w, c1, local(2026, 3, 1, 0, 30), "999.00", [("term-life", "999.00")], owner=sally)
        p7 = _policy(w, c1, local(2026, 2, 1, 6, 0), "600.00", [("accident", "600.00")],
                     owner=sally)
        w.session.flush()

    with work("carl") as w:
        _claim(w, p1, "term-life", "accident", "10000.00", local(2026, 1, 5, 10, 0),
               contacted=local(2026, 1, 5, 10, 20), approved=local(2026, 1, 15, 10, 0),
               amount="8000.00", paid=local(2026, 1, 20, 10, 0), status="paid")
        _claim(w, p2, "medical", "illness", "5000.00", local(2026, 1, 10, 9, 0),
               contacted=local(2026, 1, 10, 9, 45), rejected=local(2026, 2, 9, 9, 0),
               status="rejected")
        _claim(w, p3, "medical", "illness", "3000.00", local(2025, 12, 28, 10, 0),
               contacted=local(2025, 12, 28, 10, 5), approved=local(2026, 1, 4, 10, 0),
               amount="2500.00", paid=local(2026, 2, 3, 10, 0), status="paid")
        _claim(w, p7, "accident", "accident", "2000.00", local(2026, 2, 1, 7, 30))
        _claim(w, p1, "term-life", None, "1000.00", local(2026, 2, 20, 8, 0),
               contacted=local(2026, 2, 20, 8, 10), approved=local(2026, 2, 25, 20, 0),
               amount="900.00", status="approved")
        _claim(w, p3, None, "fire", "700.00", local(2026, 2, 28, 23, 50),
               contacted=local(2026, 3, 1, 0, 20), status="contacted")
        _claim(w, p2, "medical", "illness", "400.00", local(2026, 3, 1, 0, 10))
        w.session.flush()


# --------------------------------------------------------------------------------- pipeline

PIPELINE_HEADER = ("group,created,submitted,accepted,declined,withdrawn,issued,stage_draft,"
                   "stage_incomplete,stage_reviewed,stage_submitted,stage_info_requested,"
                   "stage_accepted,stage_declined,stage_withdrawn,stage_issued,"
                   "submitted_to_accepted_pct,accepted_to_issued_pct,created_to_issued_pct,"
                   "turnaround_median_days,turnaround_p90_days,decline_reasons")


def prow(group, flows, stages, rates, turnaround, reasons):
    """A pipeline row as json shows it: flows (created, submitted, accepted, declined, withdrawn,
    issued); stages {status: n} of the applications created in the period; rates
    (submitted→accepted, accepted→issued, created→issued); turnaround (median, p90)."""
    row = {"group": group}
    row.update(zip(["created", "submitted", "accepted", "declined", "withdrawn", "issued"], flows))
    for s in ("draft", "incomplete", "reviewed", "submitted", "info_requested", "accepted",
              "declined", "withdrawn", "issued"):
        row[f"stage_{s}"] = stages.get(s, 0)
    row.update(zip(["submitted_to_accepted_pct", "accepted_to_issued_pct",
                    "created_to_issued_pct"], rates))
    row["turnaround_median_days"], row["turnaround_p90_days"] = turnaround
    row["decline_reasons"] = reasons
    return row


# In the period:
#   created   A1 A2 A3 A7 (Jan) A5 A6 A9 (Feb) = 7; now: A1 issued, A2 accepted, A3 A7 A9
#             declined, A5 withdrawn, A6 draft
#   submitted A1 A2 A3 (Jan) A5 A7 A9 (Feb) = 6;  accepted A1 A2 (Jan) = 2
#   declined  A3 A4 A9 (Feb) = 3 (A7 on 1 March is out); withdrawn A5 (Feb); issued P2 P1 (Jan)
#   submitted→accepted 2/6 = 33.3%; accepted→issued 1/2 (A1) = 50.0%; created→issued 1/7 = 14.3%
#   turnaround, days net of the customer's wait:
#     A1 2.00; A2 7 - 3 waiting = 4.00; A3 13 - 3 (declined while waiting) = 10.00;
#     A4 50.00; A9 1.50  → sorted 1.5 2 4 10 50: median 3rd = 4.0, p90 ceil(4.5) = 5th = 50.0
#   reasons: high risk (A3, A4) 2, incomplete history (A9, stripped) 1
ALL_PIPELINE = prow("(all)", (7, 6, 2, 3, 1, 2),
                    {"draft": 1, "accepted": 1, "declined": 3, "withdrawn": 1, "issued": 1},
                    ("33.3", "50.0", "14.3"), (4.0, 50.0), "high risk: 2; incomplete history: 1")


def test_pipeline_whole_period(cli, book):
    assert cli.json("report", "pipeline", *PERIOD) == [ALL_PIPELINE]


def test_pipeline_by_month(cli, book):
    assert cli.json("report", "pipeline", *PERIOD, "--by", "month") == [
        # Jan: created A1 A2 A3 A7, submitted A1 A2 A3 (2 accepted: 66.7%), accepted A1 A2
        # (A1 issued: 50.0%), issued P1 P2; created→issued 1/4; turnaround 2, 4 → 2.0 / 4.0
        prow("2026-01", (4, 3, 2, 0, 0, 2), {"issued": 1, "accepted": 1, "declined": 2},
             ("66.7", "50.0", "25.0"), (2.0, 4.0), None),
        # Feb: created A5 A6 A9, submitted A5 A7 A9 (none accepted), declined A3 A4 A9,
        # withdrawn A5; turnaround 10, 50, 1.5 → sorted 1.5 10 50: median 2nd 10.0, p90 50.0
        prow("2026-02", (3, 3, 0, 3, 1, 0), {"withdrawn": 1, "draft": 1, "declined": 1},
             ("0.0", None, "0.0"), (10.0, 50.0), "high risk: 2; incomplete history: 1"),
        ALL_PIPELINE,
    ]


def test_pipeline_by_staff(cli, book):
    assert cli.json("report", "pipeline", *PERIOD, "--by", "staff") == [
        # sally: A1 A2 A5 A7 A9 created and submitted; accepted A1 A2; declined A9; withdrawn A5;
        # issued P1; 2/5 = 40.0, 1/2 = 50.0, 1/5 = 20.0; turnaround 2, 4, 1.5 → 2.0 / 4.0
        prow("sally", (5, 5, 2, 1, 1, 1),
             {"issued": 1, "accepted": 1, "withdrawn": 1, "declined": 2},
             ("40.0", "50.0", "20.0"), (2.0, 4.0), "incomplete history: 1"),
        # sid: created A3 A6; submitted A3; declined A3 A4; issued P2 (A8); 0/1, none, 0/2;
        # turnaround 10, 50 → median 1st 10.0, p90 ceil(1.8) = 2nd 50.0
        prow("sid", (2, 1, 0, 2, 0, 1), {"declined": 1, "draft": 1},
             ("0.0", None, "0.0"), (10.0, 50.0), "high risk: 2"),
        ALL_PIPELINE,
    ]


def test_pipeline_by_product_counts_an_application_in_each_of_its_products(cli, book):
    assert cli.json("report", "pipeline", *PERIOD, "--by", "product") == [
        # medical: A2 A3 A5 (A8 before): created and submitted A2 A3 A5; accepted A2; declined
        # A3; withdrawn A5; issued P2 (A8); 1/3 = 33.3, 0/1 = 0.0, 0/3 = 0.0; turnaround 4, 10
        prow("medical", (3, 3, 1, 1, 1, 1), {"accepted": 1, "declined": 1, "withdrawn": 1},
             ("33.3", "0.0", "0.0"), (4.0, 10.0), "high risk: 1"),
        # term-life: A1 A2 A4 A6 A7 A9: created A1 A2 A6 A7 A9; submitted A1 A2 A7 A9; accepted
        # A1 A2; declined A4 A9; issued P1; 2/4, 1/2, 1/5; turnaround 2, 4, 50, 1.5 → sorted
        # 1.5 2 4 50: median 2nd 2.0, p90 ceil(3.6) = 4th 50.0; reasons tie: alphabetical
        prow("term-life", (5, 4, 2, 2, 0, 1),
             {"issued": 1, "accepted": 1, "draft": 1, "declined": 2},
             ("50.0", "50.0", "20.0"), (2.0, 50.0), "high risk: 1; incomplete history: 1"),
        ALL_PIPELINE,  # A2 is in both products above, once here
    ]


def test_pipeline_decline_reasons_one_per_row(cli, book):
    assert cli.json("report", "pipeline", *PERIOD, "--reasons") == [
        {"group": "(all)", "reason": "high risk", "declined": 2},
        {"group": "(all)", "reason": "incomplete history", "declined": 1},
    ]
    assert cli.json("report", "pipeline", *PERIOD, "--reasons", "--by", "staff") == [
        {"group": "sally", "reason": "incomplete history", "declined": 1},
        {"group": "sid", "reason": "high risk", "declined": 2},
        {"group": "(all)", "reason": "high risk", "declined": 2},
        {"group": "(all)", "reason": "incomplete history", "declined": 1},
    ]
    out = cli.ok("report", "pipeline", *PERIOD, "--reasons", "--format", "csv").stdout
    assert out.splitlines()[0] == "group,reason,declined"


def test_pipeline_csv_header_and_table(cli, book):
    out = cli.ok("report", "pipeline", *PERIOD, "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert ",".join(rows[0]) == PIPELINE_HEADER
    assert rows[1][:7] == ["(all)", "7", "6", "2", "3", "1", "2"]
    table = cli.ok("report", "pipeline", *PERIOD, "--by", "month").stdout
    assert "Pipeline by month, 2026-01-01 to 2026-02-28" in table and "2026-02" in table


def test_pipeline_turnaround_through_the_cli_excludes_the_customers_wait(cli):
    """Through the real commands and their events: submitted 1 Feb 09:00, info asked 2 Feb 09:00,
    received 4 Feb 09:00 (2 days waiting), accepted 5 Feb 21:00: 4.5 days, 2.5 net of the wait.
    A second application is withdrawn on 6 Feb."""
    cli.ok("customer", "add", "Li Na", "--phone", "13800000001", "--born", "1985-06-15",
           "--region", "Shanghai", "--source", "referral", "--at", "2026-01-30 09:00", as_="sally")
    for code in ("A-000001", "A-000002"):
        cli.ok("apply", "new", "C-000001", "--line", "term-life:500000:1200", "--frequency",
               "annual", "--term", "1y", "--promised", "2026-02-05", "--at", "2026-01-31 09:00",
               as_="sally")
        cli.ok("apply", "receive", code, "signed application form", "proof of identity",
               "bank account authorisation", "--at", "2026-01-31 10:00", as_="sally")
        cli.ok("apply", "review", code, "--complete", "--at", "2026-01-31 11:00", as_="sally")
        cli.ok("apply", "submit", code, "--at", "2026-02-01 09:00", as_="sally")
    cli.ok("underwrite", "request-info", "A-000001", "--what", "medical report",
           "--at", "2026-02-02 09:00", as_="uma")
    cli.ok("underwrite", "info-received", "A-000001", "--at", "2026-02-04 09:00", as_="uma")
    cli.ok("underwrite", "accept", "A-000001", "--at", "2026-02-05 21:00", as_="uma")
    cli.ok("policy", "issue", "A-000001", "--effective", "2026-02-10", "--at", "2026-02-06 10:00",
           as_="uma")
    cli.ok("apply", "withdraw", "A-000002", "--reason", "changed mind", "--at", "2026-02-06 11:00",
           as_="sally")
    [row] = cli.json("report", "pipeline", "--from", "2026-02-01", "--to", "2026-02-28")
    assert row == prow("(all)", (0, 2, 1, 0, 1, 1), {}, ("50.0", "100.0", None), (2.5, 2.5), None)
    [jan, feb, _] = cli.json("report", "pipeline", "--from", "2026-01-01", "--to", "2026-02-28",
                             "--by", "month")
    assert (jan["created"], jan["stage_issued"], jan["stage_withdrawn"]) == (2, 1, 1)
    assert jan["created_to_issued_pct"] == "50.0"
    assert [r["written_premium"] for r in cli.json("report", "sales", "--from", "2026-02-01",
                                                   "--to", "2026-02-28")] == ["1200.00", "1200.00"]


# --------------------------------------------------------------------------------- sales

SALES_HEADER = "group,policies,new_business,renewals,customers,written_premium,average_premium"


def srow(group, policies, renewals, customers, premium, average):
    return {"group": group, "policies": policies, "new_business": policies - renewals,
            "renewals": renewals, "customers": customers, "written_premium": premium,
            "average_premium": average}


# In the period: P2 (Jan 2) P1 (Jan 10) P7 (Feb 1) P3 (Feb 14) P4 (Feb 20, renewal) P5 (Feb 28
# 23:30, cancelled since: still written); not P0 (2025), not P6 (1 March locally).
# 6 policies, 1 renewal, customers C1 C2 C3 C4; 1200 + 880 + 310 + 1000 + 500 + 600 = 4490.00;
# 4490 / 6 = 748.33
ALL_SALES = srow("(all)", 6, 1, 4, "4490.00", "748.33")


def test_sales_by_month_is_the_default(cli, book):
    expected = [
        srow("2026-01", 2, 0, 2, "2080.00", "1040.00"),   # P1 1200 + P2 880
        srow("2026-02", 4, 1, 4, "2410.00", "602.50"),    # P3 310 + P4 1000 + P5 500 + P7 600
        ALL_SALES,
    ]
    assert cli.json("report", "sales", *PERIOD) == expected
    assert cli.json("report", "sales", *PERIOD, "--by", "month") == expected


def test_sales_by_staff_region_channel(cli, book):
    assert cli.json("report", "sales", *PERIOD, "--by", "staff") == [
        srow("sally", 3, 0, 2, "2110.00", "703.33"),  # P1 P3 P7: 1200 + 310 + 600; C1 C3
        srow("sid", 3, 1, 2, "2380.00", "793.33"),    # P2 P4 P5: 880 + 1000 + 500; C2 C4
        ALL_SALES,
    ]
    assert cli.json("report", "sales", *PERIOD, "--by", "region") == [
        srow("Beijing", 2, 1, 1, "1880.00", "940.00"),   # C2: P2 880 + P4 1000
        srow("Shanghai", 3, 0, 2, "2110.00", "703.33"),  # C1 P1 P7, C3 P3
        srow("(none)", 1, 0, 1, "500.00", "500.00"),     # C4 has no region: P5
        ALL_SALES,
    ]
    assert cli.json("report", "sales", *PERIOD, "--by", "channel") == [
        srow("referral", 2, 0, 1, "1800.00", "900.00"),  # C1: P1 1200 + P7 600
        srow("web", 3, 1, 2, "2380.00", "793.33"),       # C2 P2 P4, C4 P5
        srow("(none)", 1, 0, 1, "310.00", "310.00"),     # C3 has no source: P3
        ALL_SALES,
    ]


def test_sales_by_age_band_takes_the_age_on_the_issue_date(cli, book):
    assert cli.json("report", "sales", *PERIOD, "--by", "age-band") == [
        srow("under 25", 1, 0, 1, "500.00", "500.00"),     # C4, 23: P5
        srow("35-44", 2, 0, 1, "1800.00", "900.00"),       # C1, 35: P1 P7
        srow("55-64", 1, 0, 1, "880.00", "880.00"),        # C2 on 2 Jan, 64: P2
        srow("65 and over", 1, 1, 1, "1000.00", "1000.00"),  # C2 on 20 Feb, 65: P4
        srow("company", 1, 0, 1, "310.00", "310.00"),      # C3: P3
        ALL_SALES,
    ]


def test_sales_by_product_splits_the_premium_over_the_lines(cli, book):
    # P3's 310.00 over three lines of 100: 103.33, 103.33 and the last (accident) 103.34.
    assert cli.json("report", "sales", *PERIOD, "--by", "product") == [
        srow("accident", 2, 0, 2, "703.34", "351.67"),     # P3 103.34 + P7 600
        srow("medical", 3, 0, 3, "1483.33", "494.44"),     # P2 880 + P3 103.33 + P5 500
        srow("term-life", 3, 1, 3, "2303.33", "767.78"),   # P1 1200 + P3 103.33 + P4 1000
        ALL_SALES,                                         # 703.34 + 1483.33 + 2303.33 = 4490.00
    ]


def test_sales_split_of_a_premium_adds_up():
    from insurtrack.reports.sales import split

    assert split(D("310.00"), [("a", D("100.00")), ("b", D("100.00")), ("c", D("100.00"))]) == [
        ("a", D("103.33")), ("b", D("103.33")), ("c", D("103.34"))]
    assert split(D("880.00"), [("medical", D("800.00"))]) == [("medical", D("880.00"))]
    assert split(D("50.00"), []) == [("(none)", D("50.00"))]
    assert split(D("10.00"), [("a", D("0.00")), ("b", D("0.00"))]) == [("a", D("0.00")),
                                                                        ("b", D("10.00"))]


def test_sales_csv_header_chart_and_excel(cli, book):
    out = cli.ok("report", "sales", *PERIOD, "--format", "csv").stdout
    lines = out.splitlines()
    assert lines[0] == SALES_HEADER
    assert lines[1:] == ["2026-01,2,2,0,2,2080.00,1040.00", "2026-02,4,3,1,4,2410.00,602.50",
                         "(all),6,5,1,4,4490.00,748.33"]
    excel = cli.ok("report", "sales", *PERIOD, "--format", "csv", "--excel").stdout
    assert excel.startswith("\ufeff" + SALES_HEADER)
    table = cli.ok("report", "sales", *PERIOD, "--by", "staff", "--chart").stdout
    assert "Sales by staff, 2026-01-01 to 2026-02-28" in table
    assert "Written premium by month, 2026-01-01 to 2026-02-28" in table
    assert "2080.00" in table.split("Written premium by month")[1]  # January's bar
    # a machine format never carries the chart
    assert "Written premium by month" not in cli.ok("report", "sales", *PERIOD, "--chart",
                                                    "--format", "json").stdout


# --------------------------------------------------------------------------------- tendency

TENDENCY_HEADER = ("segment,value,customers,policies,written_premium,average_premium,"
                   "premium_share_pct")


def trow(segment, value, customers, policies, premium, average, share):
    return {"segment": segment, "value": value, "customers": customers, "policies": policies,
            "written_premium": premium, "average_premium": average, "premium_share_pct": share}


# Shares of 4490.00: 500 → 11.1, 1800 → 40.1, 880 → 19.6, 1000 → 22.3, 310 → 6.9,
# 1880 → 41.9, 2110 → 47.0, 4180 → 93.1, 2010 → 44.8, 2480 → 55.2.
# Buyer: C1's first policy is P1 (10 Jan): P1 new, P7 existing; C2 had P0 in 2025: P2 and P4
# existing; C3 (P3) and C4 (P5) new.
TENDENCY = [
    trow("age-band", "under 25", 1, 1, "500.00", "500.00", "11.1"),
    trow("age-band", "35-44", 1, 2, "1800.00", "900.00", "40.1"),
    trow("age-band", "55-64", 1, 1, "880.00", "880.00", "19.6"),
    trow("age-band", "65 and over", 1, 1, "1000.00", "1000.00", "22.3"),
    trow("age-band", "company", 1, 1, "310.00", "310.00", "6.9"),
    trow("region", "Beijing", 1, 2, "1880.00", "940.00", "41.9"),
    trow("region", "Shanghai", 2, 3, "2110.00", "703.33", "47.0"),
    trow("region", "(none)", 1, 1, "500.00", "500.00", "11.1"),
    trow("kind", "company", 1, 1, "310.00", "310.00", "6.9"),
    trow("kind", "person", 3, 5, "4180.00", "836.00", "93.1"),
    trow("buyer", "new", 3, 3, "2010.00", "670.00", "44.8"),          # P1 P3 P5
    trow("buyer", "existing", 2, 3, "2480.00", "826.67", "55.2"),     # P7 P2 P4
]


def test_tendency_by_segment(cli, book):
    assert cli.json("report", "tendency", *PERIOD) == TENDENCY
    assert cli.json("report", "tendency", *PERIOD, "--by", "buyer") == TENDENCY[-2:]
    out = cli.ok("report", "tendency", *PERIOD, "--format", "csv").stdout.splitlines()
    assert out[0] == TENDENCY_HEADER and out[-1] == "buyer,existing,2,3,2480.00,826.67,55.2"
    assert "Buying tendency, 2026-01-01 to 2026-02-28" in cli.ok("report", "tendency",
                                                                 *PERIOD).stdout


# --------------------------------------------------------------------------------- claims

CLAIMS_HEADER = ("group,reported,claimed_amount,not_contacted,approved,approved_amount,rejected,"
                 "approval_rate_pct,paid,paid_amount,first_contact_median_minutes,"
                 "first_contact_p90_minutes,report_to_decision_median_days,"
                 "report_to_decision_p90_days,report_to_paid_median_days,report_to_paid_p90_days")


def crow(group, reported, claimed, not_contacted, approved, approved_amount, rejected, rate,
         paid, paid_amount, contact, decision, cycle):
    return {"group": group, "reported": reported, "claimed_amount": claimed,
            "not_contacted": not_contacted, "approved": approved,
            "approved_amount": approved_amount, "rejected": rejected, "approval_rate_pct": rate,
            "paid": paid, "paid_amount": paid_amount,
            "first_contact_median_minutes": contact[0], "first_contact_p90_minutes": contact[1],
            "report_to_decision_median_days": decision[0],
            "report_to_decision_p90_days": decision[1],
            "report_to_paid_median_days": cycle[0], "report_to_paid_p90_days": cycle[1]}


NONE2 = (None, None)
# In the period:
#   reported K1 K2 K4 K5 K6 = 5 (K3 in 2025, K7 on 1 March locally); claimed 10000 + 5000 +
#   2000 + 1000 + 700 = 18700.00; not contacted: K4
#   approved K3 (4 Jan) K1 (15 Jan) K5 (25 Feb) = 3: 2500 + 8000 + 900 = 11400.00; rejected K2
#   approval rate 3 / 4 = 75.0; paid K1 (20 Jan) 8000 + K3 (3 Feb) 2500 = 10500.00
#   first contact (reported in the period and contacted): K1 20, K2 45, K5 10, K6 30 (after the
#   period, still counted: its clock started in it) → sorted 10 20 30 45: median 20.0, p90 45.0
#   report→decision: K1 10, K2 30, K3 7, K5 5.5 → 5.5 7 10 30: median 7.0, p90 30.0
#   report→paid: K1 15, K3 37 → median 15.0, p90 37.0
ALL_CLAIMS = crow("(all)", 5, "18700.00", 1, 3, "11400.00", 1, "75.0", 2, "10500.00",
                  (20.0, 45.0), (7.0, 30.0), (15.0, 37.0))


def test_claims_whole_period_and_by_month(cli, book):
    assert cli.json("report", "claims", *PERIOD) == [ALL_CLAIMS]
    assert cli.json("report", "claims", *PERIOD, "--by", "month") == [
        # Jan: reported K1 K2 (15000); approved K3 K1 (10500), none rejected: 100.0; paid K1;
        # contact 20, 45; decision 7, 10; paid after 15
        crow("2026-01", 2, "15000.00", 0, 2, "10500.00", 0, "100.0", 1, "8000.00",
             (20.0, 45.0), (7.0, 10.0), (15.0, 15.0)),
        # Feb: reported K4 K5 K6 (3700), K4 not contacted; approved K5 900, rejected K2: 50.0;
        # paid K3 2500; contact 10, 30; decision 5.5, 30; paid after 37
        crow("2026-02", 3, "3700.00", 1, 1, "900.00", 1, "50.0", 1, "2500.00",
             (10.0, 30.0), (5.5, 30.0), (37.0, 37.0)),
        ALL_CLAIMS,
    ]


def test_claims_by_product(cli, book):
    assert cli.json("report", "claims", *PERIOD, "--by", "product") == [
        crow("accident", 1, "2000.00", 1, 0, "0.00", 0, None, 0, "0.00", NONE2, NONE2, NONE2),
        # medical: K2 reported (5000) and rejected; K3 approved 2500 and paid; 1 / 2 = 50.0
        crow("medical", 1, "5000.00", 0, 1, "2500.00", 1, "50.0", 1, "2500.00",
             (45.0, 45.0), (7.0, 30.0), (37.0, 37.0)),
        # term-life: K1 K5 reported (11000), approved (8900), K1 paid 8000
        crow("term-life", 2, "11000.00", 0, 2, "8900.00", 0, "100.0", 1, "8000.00",
             (10.0, 20.0), (5.5, 10.0), (15.0, 15.0)),
        crow("(none)", 1, "700.00", 0, 0, "0.00", 0, None, 0, "0.00", (30.0, 30.0), NONE2,
             NONE2),  # K6
        ALL_CLAIMS,
    ]


def test_claims_by_cause(cli, book):
    assert cli.json("report", "claims", *PERIOD, "--by", "cause") == [
        # accident: K1 K4 reported (12000), K4 not contacted; K1 approved 8000 and paid
        crow("accident", 2, "12000.00", 1, 1, "8000.00", 0, "100.0", 1, "8000.00",
             (20.0, 20.0), (10.0, 10.0), (15.0, 15.0)),
        crow("fire", 1, "700.00", 0, 0, "0.00", 0, None, 0, "0.00", (30.0, 30.0), NONE2,
             NONE2),  # K6
        # illness: K2 reported and rejected, K3 approved and paid
        crow("illness", 1, "5000.00", 0, 1, "2500.00", 1, "50.0", 1, "2500.00",
             (45.0, 45.0), (7.0, 30.0), (37.0, 37.0)),
        # no cause: K5 reported 1000, approved 900 after 5.5 days, not paid
        crow("(none)", 1, "1000.00", 0, 1, "900.00", 0, "100.0", 0, "0.00", (10.0, 10.0),
             (5.5, 5.5), NONE2),
        ALL_CLAIMS,
    ]


def test_claims_csv_header_chart_and_default_period(cli, book):
    out = cli.ok("report", "claims", *PERIOD, "--format", "csv").stdout.splitlines()
    assert out[0] == CLAIMS_HEADER
    assert out[1] == "(all),5,18700.00,1,3,11400.00,1,75.0,2,10500.00,20.0,45.0,7.0,30.0,15.0,37.0"
    table = cli.ok("report", "claims", *PERIOD, "--by", "cause", "--chart").stdout
    assert "Claims by cause, 2026-01-01 to 2026-02-28" in table
    chart = table.split("Claims by month: amounts reported and paid, 2026-01-01 to 2026-02-28")[1]
    assert "15000.00" in chart and "3700.00" in chart and "2500.00" in chart
    # default period: 1 January to today (2 March): K7 (1 March) now counts
    [row] = cli.json("report", "claims")
    assert (row["reported"], row["claimed_amount"]) == (6, "19100.00")


def test_reports_of_an_empty_period(cli, book):
    [row] = cli.json("report", "claims", "--from", "2024-01-01", "--to", "2024-01-31")
    assert row == crow("(all)", 0, "0.00", 0, 0, "0.00", 0, None, 0, "0.00", NONE2, NONE2, NONE2)
    assert cli.json("report", "sales", "--from", "2024-01-01", "--to", "2024-01-31") == [
        srow("2024-01", 0, 0, 0, "0.00", None), srow("(all)", 0, 0, 0, "0.00", None)]
    assert cli.json("report", "pipeline", "--from", "2024-01-01", "--to", "2024-01-31") == [
        prow("(all)", (0,) * 6, {}, (None,) * 3, NONE2, None)]
    assert cli.json("report", "tendency", "--from", "2024-01-01", "--to", "2024-01-31") == []


# --------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("report, by", [
    ("pipeline", "region"), ("pipeline", "Month"), ("sales", "cause"), ("sales", "quarter"),
    ("claims", "staff"), ("tendency", "month"),
])
def test_a_grouping_the_report_does_not_have_is_refused(cli, report, by):
    result = cli.fails(2, "report", report, "--by", by, expect=f"--by {by!r}")
    assert f"the {report} report groups by" in result.stderr


@pytest.mark.parametrize("report", ["pipeline", "sales", "tendency", "claims"])
@pytest.mark.parametrize("args, expect", [
    (["--from", "2026-03-01", "--to", "2026-02-01"], "is after --to (2026-02-01)"),
    (["--from", "2026-02-30"], "not a real calendar date"),
    (["--to", "1/2/2026"], "is not a date"),
])
def test_a_bad_period_is_refused(cli, report, args, expect):
    cli.fails(2, "report", report, *args, expect=expect)


def test_a_bad_format_is_refused(cli):
    result = cli("report", "claims", "--format", "xml")
    assert result.exit_code == 2 and "xml" in result.stderr


def test_every_report_documents_its_columns(cli):
    for report, header in (("pipeline", PIPELINE_HEADER), ("sales", SALES_HEADER),
                           ("tendency", TENDENCY_HEADER), ("claims", CLAIMS_HEADER)):
        text = " ".join(cli.ok("report", report, "--help").stdout.split())
        assert ", ".join(header.split(",")) in text, report
