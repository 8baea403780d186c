"""`insurtrack policy` end to end (L5, L6; PRC Insurance Law arts. 36-37): happy paths, json
output and refused input (unknown code 3, malformed value 2, wrong state 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from insurtrack.domain import models as m
from tests import factories


@pytest.fixture
def app(work):
    """A-000001 of C-000001, accepted: monthly, 12 months, 1200.00 a year + 10% loading."""
    with work("sally") as w:
        cust = factories.customer(w)
    with work("uma") as w:
        return factories.application(w, cust, status="accepted", frequency="monthly",
                                     rate_loading=D("10")).code


def _policy(work, status="in_force", **kw):
    with work("sally") as w:
        return factories.policy(w, factories.customer(w, name="Wang Fang"), status=status, **kw).code


def test_issue_pay_show_L5(cli, app):
    done = cli.ok("policy", "issue", app.lower(), as_="uma")
    assert "P-000001" in done.stdout and "110.00" in done.stdout
    assert ("policy P-000001 issued from A-000001: tell the customer to pay 110.00 by 2026-03-02"
            in done.stderr)
    paid = cli.ok("policy", "pay", "p-000001", "--amount", "165", "--method", "WECHAT_PAY",
                  "--reference", "WX-9", as_="sam")
    assert ("policy P-000001: 165.00 paid to installment(s) 1, 2; 1155.00 still outstanding "
            "(now in force)") in paid.stderr
    doc = cli.json("policy", "show", "P-000001")
    assert (doc["status"], doc["premium"], doc["outstanding"]) == ("in_force", "1320.00", "1155.00")
    assert (doc["effective"], doc["expiry"], doc["application"]) == ("2026-03-02", "2027-03-01", app)
    assert doc["schedule"][1] == {"seq": 2, "due_date": "2026-04-02", "amount": "110.00",
                                  "paid": "55.00", "status": "partially_paid", "days_overdue": 0}
    assert [(p["installment"], p["amount"], p["method"]) for p in doc["payments"]] == [
        (1, "110.00", "wechat_pay"), (2, "55.00", "wechat_pay")]
    assert [t["event"] for t in doc["timeline"]] == ["policy.issued", "premium.paid", "policy.in_force"]
    table = cli.ok("policy", "show", "P-000001").stdout
    assert "Schedule" in table and "Timeline" in table


def test_issue_with_effective_date_and_at(cli, app, clock):
    clock.advance(days=1)
    out = cli.json("policy", "issue", app, "--effective", "2026-01-31", "--at", "1h ago", as_="uma")
    assert (out["effective"], out["expiry"]) == ("2026-01-31", "2027-01-30")
    assert out["issued_at"] == "2026-03-03T08:00:00+08:00"
    assert [s["due_date"] for s in out["schedule"][:2]] == ["2026-01-31", "2026-02-28"]
    assert "timeline" not in out


def test_issue_bad_input(cli, work, app):
    cli.fails(3, "policy", "issue", "A-000099", expect="no application 'A-000099'")
    cli.fails(2, "policy", "issue", app, "--effective", "2026-02-30", expect="--effective")
    cli.fails(2, "policy", "issue", app, "--effective", "tomorrow", expect="--effective")
    cli.fails(2, "policy", "issue", app, "--at", "in an hour", expect="--at")
    with work("uma") as w:
        declined = factories.application(w, w.session.get(m.Customer, 1), status="declined").code
    cli.fails(4, "policy", "issue", declined, expect="it is declined; allowed steps: none")


def test_pay_bad_input(cli, work):
    code = _policy(work, status="issued")
    cli.fails(3, "policy", "pay", "P-000404", "--amount", "10", "--method", "cash", expect="no policy")
    for amount in ("12,50", "-5", "1.234", "0"):
        cli.fails(2, "policy", "pay", code, "--amount", amount, "--method", "cash", expect="--amount")
    cli.fails(2, "policy", "pay", code, "--amount", "10", "--method", "bitcoin", expect="--method")
    cli.fails(2, "policy", "pay", code, "--amount", "10", "--method", "cash", "--at", "2026-13-01",
              expect="--at")
    cli.fails(4, "policy", "pay", code, "--amount", "1200.01", "--method", "cash",
              expect="only 1200.00 is outstanding")
    cli.ok("policy", "cancel", code, "--reason", "changed mind")
    cli.fails(4, "policy", "pay", code, "--amount", "10", "--method", "cash",
              expect="cannot pay policy P-000001: it is cancelled")


def test_list_filters_and_csv(cli, work, app):
    cli.ok("policy", "issue", app, as_="uma")
    old = _policy(work, effective=date(2025, 4, 1))
    rows = cli.json("policy", "list")
    assert [r["code"] for r in rows] == ["P-000001", old]
    assert set(rows[0]) == {"code", "status", "customer", "name", "owner", "frequency", "effective",
                            "expiry", "sum_insured", "premium"}
    assert [r["code"] for r in cli.json("policy", "list", "--status", "ISSUED")] == ["P-000001"]
    assert [r["code"] for r in cli.json("policy", "list", "--expiring-within", "30")] == [old]
    assert [r["code"] for r in cli.json("policy", "list", "--customer", "c-000002")] == [old]
    assert [r["code"] for r in cli.json("policy", "list", "--owner", "uma")] == ["P-000001"]
    assert cli.json("policy", "list", "--limit", "1")[0]["code"] == "P-000001"
    csv = cli.ok("policy", "list", "--format", "csv").stdout.splitlines()
    assert csv[0] == "code,status,customer,name,owner,frequency,effective,expiry,sum_insured,premium"
    assert len(csv) == 3


def test_list_and_show_bad_input(cli):
    cli.fails(2, "policy", "list", "--status", "lapsed", expect="--status")
    cli.fails(2, "policy", "list", "--expiring-within", "soon", expect="--expiring-within")
    cli.fails(3, "policy", "list", "--customer", "C-000404", expect="no customer")
    cli.fails(3, "policy", "show", "P-000404", expect="no policy 'P-000404'")
    cli.fails(2, "policy", "show", "P-000404", "--format", "xml", expect="--format")


def test_cancel(cli, work):
    code = _policy(work, frequency="quarterly")
    out = cli.ok("policy", "cancel", code.lower(), "--reason", "sold the car", as_="sam")
    assert "policy P-000001: cancelled (now cancelled)" in out.stderr
    doc = cli.json("policy", "show", code)
    assert [s["status"] for s in doc["schedule"]] == ["paid", "cancelled", "cancelled", "cancelled"]
    assert doc["cancel_reason"] == "sold the car"
    cli.fails(4, "policy", "cancel", code, "--reason", "again", expect="it is cancelled")
    cli.fails(3, "policy", "cancel", "P-000404", "--reason", "x", expect="no policy")
    cli.fails(2, "policy", "cancel", code, "--reason", "  ", expect="--reason")
    cli.fails(2, "policy", "cancel", code, "--reason", "x", "--at", "yesterday-ish", expect="--at")


def test_suspend_and_reinstate_art36_art37(cli, work, clock):
    code = _policy(work, frequency="monthly", effective=date(2025, 12, 1))  # inst. 2 due 2026-01-01
    cli.fails(4, "policy", "suspend", code, expect="grace period until 2026-03-02")
    cli.fails(4, "policy", "reinstate", code, expect="cannot reinstate policy P-000001: it is in force")
    clock.advance(days=1)
    assert "(now suspended)" in cli.ok("policy", "suspend", code, as_="sam").stderr
    cli.fails(4, "policy", "suspend", code, expect="it is suspended")
    cli.fails(4, "policy", "reinstate", code, expect="installment(s) 2, 3, 4 due by 2026-03-03 still owe 300.00")
    cli.ok("policy", "pay", code, "--amount", "300", "--method", "bank_transfer", as_="sam")
    assert "reinstated (now in force)" in cli.ok("policy", "reinstate", code, as_="sam").stderr
    events = [t["event"] for t in cli.json("policy", "show", code)["timeline"]]
    assert events == ["policy.suspended", "premium.paid", "policy.reinstated"]
    for step in ("suspend", "reinstate"):
        cli.fails(3, "policy", step, "P-000404", expect="no policy")
        cli.fails(2, "policy", step, code, "--at", "2026-02-30", expect="--at")


def test_expire(cli, work):
    ended = _policy(work, effective=date(2025, 3, 1))     # last day 2026-02-28
    running = _policy(work, effective=date(2025, 3, 3))   # last day 2026-03-02
    assert "(now expired)" in cli.ok("policy", "expire", ended, as_="sam").stderr
    assert cli.json("policy", "show", ended)["status"] == "expired"
    cli.fails(4, "policy", "expire", running, expect="covers until 2026-03-02")
    cli.fails(4, "policy", "expire", ended, expect="it is expired; allowed steps: renew")
    cli.fails(3, "policy", "expire", "P-000404", expect="no policy")
    cli.fails(2, "policy", "expire", running, "--at", "3 weeks ago", expect="--at")
