"""`insurtrack renew` end to end (L6, T7): upcoming installments and renewals, reminders,
payments and new terms; refused input (unknown code 3, malformed value 2, wrong state 4)."""

from __future__ import annotations

from datetime import date

from tests import factories

COLUMNS = ["kind", "policy", "customer", "name", "due_date", "amount", "days", "last_reminder", "owner"]


def _policy(work, status="in_force", owner="sally", **kw):
    with work(owner) as w:
        return factories.policy(w, factories.customer(w, owner=owner), status=status, **kw).code


def test_upcoming_remind_pay_T7(cli, work):
    monthly = _policy(work, frequency="monthly", effective=date(2025, 12, 1))  # 2 & 3 overdue, 4 due
    yearly = _policy(work, owner="sid", effective=date(2025, 4, 1))            # expires 2026-03-31
    rows = cli.json("renew", "upcoming", as_="sam")
    assert [(r["kind"], r["policy"], r["due_date"], r["days"]) for r in rows] == [
        ("installment", monthly, "2026-01-01", -60), ("installment", monthly, "2026-02-01", -29),
        ("installment", monthly, "2026-03-01", -1), ("renewal", yearly, "2026-03-31", 29),
        ("installment", monthly, "2026-04-01", 30)]
    assert list(rows[0]) == COLUMNS and rows[3]["amount"] == "1200.00" and rows[3]["owner"] == "sid"
    assert len(cli.json("renew", "upcoming", "--days", "0")) == 3
    assert [r["policy"] for r in cli.json("renew", "upcoming", "--owner", "sid")] == [yearly]
    assert cli.ok("renew", "upcoming", "--format", "csv").stdout.splitlines()[0] == ",".join(COLUMNS)

    out = cli.ok("renew", "remind", monthly.lower(), "--channel", "phone", "--result", "promised_to_pay",
                 "--note", "pays Friday", as_="sam")
    assert f"installment reminder recorded for {monthly} (phone: promised_to_pay)" in out.stderr
    cli.ok("renew", "remind", yearly, "--channel", "SMS", "--result", "no_answer", "--renewal", as_="sam")
    cli.ok("renew", "remind", monthly, "--channel", "wechat", "--result", "reached",
           "--installment", "4", as_="sam")
    rows = cli.json("renew", "upcoming")
    assert [r["last_reminder"] for r in rows] == ["2026-03-02", None, "2026-03-02", "2026-03-02", None]

    paid = cli.ok("renew", "pay", monthly, "--amount", "250", "--method", "card", as_="sam")
    assert "250.00 paid to installment(s) 2, 3, 4" in paid.stderr
    rows = cli.json("renew", "upcoming")
    assert [(r["policy"], r["due_date"], r["amount"]) for r in rows[:2]] == [
        (monthly, "2026-03-01", "50.00"), (yearly, "2026-03-31", "1200.00")]
    doc = cli.json("policy", "show", monthly)
    assert [(r["installment"], r["channel"], r["by"]) for r in doc["reminders"]] == [
        (2, "phone", "sam"), (4, "wechat", "sam")]
    assert [t["event"] for t in doc["timeline"]] == ["premium.reminded", "premium.reminded", "premium.paid"]


def test_upcoming_bad_input(cli):
    cli.fails(2, "renew", "upcoming", "--days", "-1", expect="--days")
    cli.fails(2, "renew", "upcoming", "--days", "a month", expect="--days")
    cli.fails(3, "renew", "upcoming", "--owner", "nobody", expect="no staff member 'nobody'")


def test_remind_bad_input(cli, work):
    code = _policy(work, frequency="quarterly")
    remind = ("renew", "remind")
    ok = ("--channel", "phone", "--result", "reached")
    cli.fails(3, *remind, "P-000404", *ok, expect="no policy")
    cli.fails(2, *remind, code, "--channel", "pigeon", "--result", "reached", expect="--channel")
    cli.fails(2, *remind, code, "--channel", "phone", "--result", "maybe", expect="--result")
    cli.fails(2, *remind, code, *ok, "--installment", "9", expect="has installments 1 to 4")
    cli.fails(2, *remind, code, *ok, "--installment", "two", expect="--installment")
    cli.fails(2, *remind, code, *ok, "--installment", "2", "--renewal", expect="choose one")
    cli.fails(2, *remind, code, *ok, "--at", "next week", expect="--at")
    cli.fails(4, *remind, code, *ok, "--installment", "1", expect="installment 1 of policy P-000001 is paid")
    cli.ok("policy", "cancel", code, "--reason", "moved")
    cli.fails(4, *remind, code, *ok, expect="cannot remind policy P-000001: it is cancelled")


def test_pay_is_policy_pay(cli, work):
    code = _policy(work, status="issued")
    cli.fails(3, "renew", "pay", "P-000404", "--amount", "1", "--method", "cash", expect="no policy")
    cli.fails(2, "renew", "pay", code, "--amount", "1.001", "--method", "cash", expect="--amount")
    cli.fails(4, "renew", "pay", code, "--amount", "5000", "--method", "cash", expect="outstanding")
    assert "(now in force)" in cli.ok("renew", "pay", code, "--amount", "1200", "--method", "cash").stderr


def test_term_L6(cli, work):
    code = _policy(work, frequency="semi-annual", effective=date(2025, 4, 1), paid_installments=2)
    done = cli.ok("renew", "term", code.lower(), as_="sam")
    assert "P-000002" in done.stdout
    assert "policy P-000001 renewed as P-000002: tell the customer to pay 600.00 by 2026-04-01" in done.stderr
    new = cli.json("policy", "show", "P-000002")
    assert (new["status"], new["renewed_from"], new["effective"], new["expiry"], new["frequency"]) == (
        "issued", code, "2026-04-01", "2027-03-31", "semi-annual")
    assert [s["due_date"] for s in new["schedule"]] == ["2026-04-01", "2026-10-01"]
    old = cli.json("policy", "show", code)
    assert old["renewed_as"] == "P-000002" and old["timeline"][-1]["event"] == "policy.renewed"
    cli.fails(4, "renew", "term", code, expect="already renewed as P-000002")
    cli.fails(4, "renew", "term", "P-000002", expect="cannot renew policy P-000002: it is issued")


def test_term_bad_input(cli, work):
    far = _policy(work, effective=date(2025, 9, 1))   # expires 2026-08-31: outside the window
    near = _policy(work, effective=date(2025, 4, 1))  # expires 2026-03-31
    cli.fails(3, "renew", "term", "P-000404", expect="no policy")
    cli.fails(4, "renew", "term", far, expect="may be renewed from 2026-06-02 to 2026-11-29")
    cli.fails(2, "renew", "term", near, "--effective", "2026-04-31", expect="--effective")
    cli.fails(2, "renew", "term", near, "--effective", "2026-03-15", expect="overlaps the current term")
    cli.fails(2, "renew", "term", near, "--at", "tomorrow", expect="--at")
    out = cli.json("renew", "term", near, "--effective", "2026-05-01")
    assert (out["effective"], out["expiry"]) == ("2026-05-01", "2027-04-30")
