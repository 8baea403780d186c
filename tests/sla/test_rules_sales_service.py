"""The shipped SLA rules of sales, underwriting and customer service (T2-T8), driven through the
CLI at pinned instants: `due --now X` must show exactly the expected (rule, state, subject) rows
with exactly the expected deadlines, before and after each warning and deadline.

Deadlines were computed by hand from DEFAULT_RULES and the China calendar (holidays package):
a day-granular deadline is the END of its local day (the next local midnight, Asia/Shanghai); the
start day is not counted; `N working days` skips weekends and official holidays and counts
official make-up working days (2026-10-10 is a Saturday worked for golden week); a warning of N
(working) days falls at the end of the (working) day N before the deadline's last day.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from tests.conftest import local

DOCS = ["signed application form", "proof of identity", "bank account authorisation"]


# -- helpers ---------------------------------------------------------------------------------------

def board(cli, now: str, *filters: str, as_: str = "boss") -> list[dict]:
    return cli.json("due", "--now", now, *filters, as_=as_)


def seen(rows: list[dict]) -> list[tuple[str, str, str]]:
    """The exact picture: (rule, state, subject) of every row, sorted."""
    return sorted((r["rule"], r["state"], r["subject"]) for r in rows)


def deadlines(rows: list[dict]) -> dict[tuple[str, str], datetime]:
    return {(r["rule"], r["subject"]): datetime.fromisoformat(r["due_at"]) for r in rows}


def warnings(rows: list[dict]) -> dict[tuple[str, str], datetime | None]:
    return {(r["rule"], r["subject"]): r["warn_at"] and datetime.fromisoformat(r["warn_at"])
            for r in rows}


def one(rows: list[dict], rule: str, subject: str) -> dict:
    hits = [r for r in rows if r["rule"] == rule and r["subject"] == subject]
    assert len(hits) == 1, rows
    return hits[0]


def explain(cli, ident) -> dict:
    return cli.json("due", "explain", str(ident))


def at(cli, *args: int) -> None:
    """Move the pinned clock to a Shanghai wall-clock time."""
    cli.clock.instant = local(*args)


def customer(cli, name: str = "Li Na", as_: str = "sally") -> str:
    return cli.json("customer", "add", name, as_=as_)["code"]


def application(cli, cust: str, promised: str = "today", *, frequency: str = "quarterly",
                term: str = "1y", premium: str = "1200", as_: str = "sally") -> str:
    return cli.json("apply", "new", cust, "--line", f"term-life:500000:{premium}", "--frequency",
                    frequency, "--term", term, "--promised", promised, as_=as_)["code"]


def submit(cli, app: str, as_: str = "sally") -> None:
    cli.ok("apply", "receive", app, *DOCS, as_=as_)
    cli.ok("apply", "review", app, "--complete", as_=as_)
    cli.ok("apply", "submit", app, as_=as_)


def in_force(cli, cust: str, *, effective: str = "today", frequency: str = "quarterly",
             first: str = "300.00", contact: bool = True) -> str:
    """Application → submitted → accepted → issued → first premium paid, all now; the T5 first
    contact is made at once unless `contact` is False (so it stays out of the pictures)."""
    app = application(cli, cust, frequency=frequency)
    submit(cli, app)
    cli.ok("underwrite", "accept", app, as_="uma")
    code = cli.json("policy", "issue", app, "--effective", effective, as_="uma")["code"]
    cli.ok("policy", "pay", code, "--amount", first, "--method", "bank_transfer", as_="sam")
    if contact:
        cli.ok("revisit", "log", cust, "--kind", "first_contact", "--policy", code, "--channel",
               "phone", as_="sam")
    return code


def follow_ups(cli, rule: str) -> list[m.FollowUp]:
    from sqlalchemy.orm import Session

    with Session(cli.engine) as s:
        return list(s.execute(select(m.FollowUp).where(m.FollowUp.rule == rule)
                              .order_by(m.FollowUp.id)).scalars())


# -- T2 plan-delivery ------------------------------------------------------------------------------

def test_t2_plan_at_risk_on_the_promised_day_overdue_after_it_and_delivery_closes_it(cli):
    """T2: promised Thursday 2026-03-05, so due at the end of that day (Friday 00:00). The rule
    warns 1 day before that instant: at risk from Thursday 00:00 (all of the promised day),
    nothing on Wednesday; overdue from Friday 00:00. Delivering closes it (late: breached)."""
    c = customer(cli)
    a1 = application(cli, c, "2026-03-05")
    a2 = application(cli, c, "2026-03-03")

    assert seen(board(cli, "2026-03-02 12:00")) == []
    assert seen(board(cli, "2026-03-03 00:00")) == [("plan-delivery", "at_risk", a2)]
    assert seen(board(cli, "2026-03-04 23:59")) == [("plan-delivery", "overdue", a2)]
    rows = board(cli, "2026-03-05 00:00")
    assert seen(rows) == [("plan-delivery", "at_risk", a1), ("plan-delivery", "overdue", a2)]
    assert deadlines(rows) == {("plan-delivery", a1): local(2026, 3, 6),
                               ("plan-delivery", a2): local(2026, 3, 4)}
    assert warnings(rows)[("plan-delivery", a1)] == local(2026, 3, 5)
    mine = one(rows, "plan-delivery", a1)
    assert (mine["department"], mine["assignee"], mine["source"], mine["due"]) == (
        "sales", "sally", "T2", "2026-03-05 24:00")
    assert seen(board(cli, "2026-03-05 23:59")) == seen(rows)
    late = board(cli, "2026-03-06 00:00")
    assert seen(late) == [("plan-delivery", "overdue", a1), ("plan-delivery", "overdue", a2)]
    ids = {r["subject"]: r["id"] for r in late}

    # a1 delivered on time (Wednesday), a2 a day late (also Wednesday).
    at(cli, 2026, 3, 4, 15, 0)
    cli.ok("apply", "deliver", a1, as_="sally")
    cli.ok("apply", "deliver", a2, as_="sally")
    assert seen(board(cli, "2026-03-05 12:00")) == []
    assert seen(board(cli, "2026-03-09 12:00")) == []
    on_time, too_late = explain(cli, ids[a1]), explain(cli, ids[a2])
    assert (on_time["status"], on_time["breached"]) == ("done", False)
    assert (too_late["status"], too_late["breached"]) == ("done", True)
    assert datetime.fromisoformat(on_time["closed_at"]) == local(2026, 3, 4, 15, 0)
    assert [e["event"] for e in on_time["events"]] == ["application.created",
                                                        "application.plan_delivered"]


def test_t2_withdrawing_the_application_cancels_the_plan_follow_up(cli):
    c = customer(cli)
    a = application(cli, c, "2026-03-04")
    ident = one(board(cli, "2026-03-04 09:00"), "plan-delivery", a)["id"]
    at(cli, 2026, 3, 3, 10, 0)
    cli.ok("apply", "withdraw", a, "--reason", "bought elsewhere", as_="sally")
    assert seen(board(cli, "2026-03-04 09:00")) == []
    assert seen(board(cli, "2026-03-10 09:00")) == []
    record = explain(cli, ident)
    assert (record["status"], record["breached"], record["close_note"]) == (
        "cancelled", None, "cancelled by application.withdrawn")


def test_t2_an_application_without_a_promised_date_opens_no_follow_up(cli, work):
    """The promised date is nullable (older or imported applications): no date, nothing to
    deliver by, so no plan-delivery clock (the CLI always asks for --promised)."""
    from insurtrack.services.base import next_code

    c = customer(cli)
    with work("sally") as w:
        cust = w.session.execute(select(m.Customer).where(m.Customer.code == c)).scalar_one()
        app = m.Application(code=next_code(w.session, "application"), customer_id=cust.id,
                            owner_id=w.actor.id, status="draft", frequency="annual",
                            term_months=12, promised_date=None, created_at=w.now())
        w.session.add(app)
        w.session.flush()
        w.event("application.created", app.code, occurred_at=w.now(), customer_id=cust.id)
    assert follow_ups(cli, "plan-delivery") == []
    assert seen(board(cli, "2026-12-31 12:00")) == []
    # and the CLI refuses a plan without a promised date
    cli.fails(2, "apply", "new", c, "--line", "term-life:500000:1200", "--frequency", "annual",
              "--term", "1y", as_="sally", expect="--promised")


# -- T3 application-status-check -------------------------------------------------------------------

def test_t3_daily_check_falls_on_working_days_done_opens_the_next_and_a_decision_ends_it(cli):
    """T3: submitted on Friday 2026-03-06 → the first check is due by the end of Monday; done on
    Monday → the next by the end of Tuesday; accepting ends the cadence."""
    at(cli, 2026, 3, 6, 10, 0)
    c = customer(cli)
    a = application(cli, c)
    submit(cli, a)

    assert seen(board(cli, "2026-03-06 17:00", "--kind", "T3")) == []
    assert seen(board(cli, "2026-03-07 12:00", "--kind", "T3")) == []   # Saturday
    assert seen(board(cli, "2026-03-08 23:59", "--kind", "T3")) == []   # Sunday
    rows = board(cli, "2026-03-09 09:00", "--kind", "T3")
    assert seen(rows) == [("application-status-check", "due_today", a)]
    assert deadlines(rows) == {("application-status-check", a): local(2026, 3, 10)}
    first = one(rows, "application-status-check", a)
    assert (first["department"], first["assignee"], first["warn_at"]) == ("sales", "sally", None)
    assert seen(board(cli, "2026-03-10 00:00", "--kind", "T3")) == [
        ("application-status-check", "overdue", a)]

    at(cli, 2026, 3, 9, 10, 0)
    cli.ok("due", "done", str(first["id"]), "--note", "asked uma: medical pending", as_="sally")
    assert seen(board(cli, "2026-03-09 12:00", "--kind", "T3")) == []
    rows = board(cli, "2026-03-10 09:00", "--kind", "T3")
    assert seen(rows) == [("application-status-check", "due_today", a)]
    assert deadlines(rows) == {("application-status-check", a): local(2026, 3, 11)}
    second = one(rows, "application-status-check", a)
    assert second["id"] != first["id"] and second["title"].endswith("— #2")
    done = explain(cli, first["id"])
    assert (done["status"], done["breached"], done["close_note"]) == (
        "done", False, "asked uma: medical pending")
    assert explain(cli, second["id"])["occurrence"] == 2

    at(cli, 2026, 3, 10, 11, 0)
    cli.ok("underwrite", "accept", a, as_="uma")
    assert seen(board(cli, "2026-03-11 09:00", "--kind", "T3")) == []
    assert seen(board(cli, "2026-03-20 09:00")) == []
    assert explain(cli, second["id"])["status"] == "cancelled"


def test_t3_golden_week_skips_the_holidays_and_counts_the_make_up_saturday(cli):
    """Submitted Wednesday 2026-09-30: 1-7 October are days off (the holidays package), so the
    check is due by the end of Thursday 8 October; done on Friday 9 → due by the end of
    Saturday 10 October, an official make-up working day. T4's 5 working days end on 13 October."""
    at(cli, 2026, 9, 30, 10, 0)
    c = customer(cli)
    a = application(cli, c)
    submit(cli, a)

    for quiet in ("2026-09-30 17:00", "2026-10-01 12:00", "2026-10-05 12:00", "2026-10-07 23:59"):
        assert seen(board(cli, quiet, "--kind", "T3")) == [], quiet
    rows = board(cli, "2026-10-08 09:00", "--kind", "T3", "--kind", "T4")
    assert seen(rows) == [("application-status-check", "due_today", a)]
    assert deadlines(rows) == {("application-status-check", a): local(2026, 10, 9)}
    first = rows[0]["id"]
    rows = board(cli, "2026-10-13 00:00", "--kind", "T4")
    assert seen(rows) == [("underwriting-decision", "at_risk", a)]
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 10, 14)}
    assert warnings(rows) == {("underwriting-decision", a): local(2026, 10, 13)}
    assert seen(board(cli, "2026-10-12 23:59", "--kind", "T4")) == []

    at(cli, 2026, 10, 9, 10, 0)
    assert seen(board(cli, "2026-10-09 10:00", "--kind", "T3")) == [
        ("application-status-check", "overdue", a)]
    cli.ok("due", "done", str(first), as_="sally")
    assert explain(cli, first)["breached"] is True  # done a day late
    rows = board(cli, "2026-10-10 09:00", "--kind", "T3")
    assert seen(rows) == [("application-status-check", "due_today", a)]
    assert deadlines(rows) == {("application-status-check", a): local(2026, 10, 11)}
    assert seen(board(cli, "2026-10-11 09:00", "--kind", "T3")) == [
        ("application-status-check", "overdue", a)]


# -- T4 underwriting-decision ----------------------------------------------------------------------

def test_t4_decision_clock_waits_for_the_customer_and_extends_by_the_paused_working_days(cli):
    """T4: submitted Monday 2026-03-02 09:00 → due by the end of Monday 9 March (5 working
    days), at risk from the end of Friday 6 March. Info requested Monday 9 March 10:00, received
    Wednesday 11 March 15:00: two working days paused (Tuesday, Wednesday), so 5 + 2 working days
    after 2 March → due by the end of Wednesday 11 March, at risk from the end of Tuesday."""
    c = customer(cli)
    a = application(cli, c)
    submit(cli, a)
    rows = board(cli, "2026-03-07 00:00", "--kind", "T4")
    assert seen(rows) == [("underwriting-decision", "at_risk", a)]
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 3, 10)}
    assert warnings(rows) == {("underwriting-decision", a): local(2026, 3, 7)}
    row = rows[0]
    assert (row["department"], row["assignee"], row["source"]) == ("underwriting", "", "T4")
    assert seen(board(cli, "2026-03-06 23:59", "--kind", "T4")) == []
    assert seen(board(cli, "2026-03-10 00:00", "--kind", "T4")) == [
        ("underwriting-decision", "breached", a)]

    at(cli, 2026, 3, 9, 10, 0)
    assert seen(board(cli, "2026-03-09 10:00", "--kind", "T4")) == [
        ("underwriting-decision", "at_risk", a)]
    cli.ok("underwrite", "request-info", a, "--what", "recent medical report", as_="uma")
    for paused in ("2026-03-09 10:00", "2026-03-10 00:00", "2026-03-20 12:00"):
        assert seen(board(cli, paused, "--kind", "T4")) == [], paused
    assert explain(cli, row["id"])["status"] == "paused"

    at(cli, 2026, 3, 11, 15, 0)
    cli.ok("underwrite", "info-received", a, as_="uma")
    rows = board(cli, "2026-03-11 15:00", "--kind", "T4")
    assert seen(rows) == [("underwriting-decision", "at_risk", a)]
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 3, 12)}
    assert warnings(rows) == {("underwriting-decision", a): local(2026, 3, 11)}
    assert seen(board(cli, "2026-03-12 00:00", "--kind", "T4")) == [
        ("underwriting-decision", "breached", a)]
    record = explain(cli, row["id"])
    assert [(datetime.fromisoformat(p["paused"]), datetime.fromisoformat(p["resumed"]))
            for p in record["pauses"]] == [(local(2026, 3, 9, 10, 0), local(2026, 3, 11, 15, 0))]
    assert [(datetime.fromisoformat(h["from"]), datetime.fromisoformat(h["due"]))
            for h in record["deadline history"]] == [
        (local(2026, 3, 2, 9, 0), local(2026, 3, 10)),
        (local(2026, 3, 11, 15, 0), local(2026, 3, 12))]
    assert [(e["event"], e["role"]) for e in record["events"]] == [
        ("application.submitted", "opened"), ("application.info_requested", "paused"),
        ("application.info_received", "resumed")]
    # the past as it was: before the pause the first deadline stood; during it, nothing ran
    rows = board(cli, "2026-03-08 12:00", "--kind", "T4")
    assert seen(rows) == [("underwriting-decision", "at_risk", a)]
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 3, 10)}
    assert seen(board(cli, "2026-03-10 12:00", "--kind", "T4")) == []

    at(cli, 2026, 3, 12, 10, 0)
    cli.ok("underwrite", "accept", a, as_="uma")  # late
    assert seen(board(cli, "2026-03-12 10:00", "--kind", "T4")) == []
    record = explain(cli, row["id"])
    assert (record["status"], record["breached"]) == ("done", True)
    assert seen(board(cli, "2026-03-12 09:00", "--kind", "T4")) == [
        ("underwriting-decision", "breached", a)]  # the past still shows it


def test_t4_an_on_time_decline_stops_the_clock_unbreached(cli):
    c = customer(cli)
    a = application(cli, c)
    submit(cli, a)
    ident = one(board(cli, "2026-03-09 12:00", "--kind", "T4"), "underwriting-decision", a)["id"]
    at(cli, 2026, 3, 4, 16, 0)
    cli.ok("underwrite", "decline", a, "--reason", "undisclosed condition", "--advice",
           "try accident cover", as_="ulf")
    assert seen(board(cli, "2026-03-09 12:00")) == []
    record = explain(cli, ident)
    assert (record["status"], record["breached"]) == ("done", False)


# -- T5 first-contact ------------------------------------------------------------------------------

def test_t5_first_contact_within_three_working_days_of_the_policy_taking_effect(cli):
    """T5: in force Monday 2026-03-02 09:00 → contact by the end of Thursday 5 March, at risk
    from the end of Wednesday. A first contact about one policy closes that policy's only."""
    c = customer(cli)
    p1 = in_force(cli, c, contact=False)
    p2 = in_force(cli, c, contact=False)
    assert seen(board(cli, "2026-03-04 23:59")) == []
    rows = board(cli, "2026-03-05 00:00")
    assert seen(rows) == [("first-contact", "at_risk", p1), ("first-contact", "at_risk", p2)]
    assert deadlines(rows) == {("first-contact", p1): local(2026, 3, 6),
                               ("first-contact", p2): local(2026, 3, 6)}
    assert warnings(rows) == {("first-contact", p1): local(2026, 3, 5),
                              ("first-contact", p2): local(2026, 3, 5)}
    assert {(r["department"], r["assignee"], r["customer"]) for r in rows} == {("service", "", c)}
    assert seen(board(cli, "2026-03-06 00:00")) == [("first-contact", "breached", p1),
                                                   ("first-contact", "breached", p2)]
    ids = {r["subject"]: r["id"] for r in rows}

    at(cli, 2026, 3, 4, 10, 0)
    # a first contact names its policy (T5): without --policy it is refused, nothing changes
    cli.fails(2, "revisit", "log", c, "--kind", "first_contact", "--channel", "phone",
              as_="sam", expect="--policy")
    cli.ok("revisit", "log", c, "--kind", "first_contact", "--policy", p1, "--channel", "phone",
           as_="sam")
    assert seen(board(cli, "2026-03-05 12:00")) == [("first-contact", "at_risk", p2)]
    record = explain(cli, ids[p1])
    assert (record["status"], record["breached"]) == ("done", False)

    # an ad-hoc revisit is not a first contact
    cli.ok("revisit", "log", c, "--kind", "ad_hoc", "--channel", "phone", as_="sam")
    assert seen(board(cli, "2026-03-05 12:00")) == [("first-contact", "at_risk", p2)]

    at(cli, 2026, 3, 6, 9, 30)  # a day late
    cli.ok("revisit", "log", c, "--kind", "first_contact", "--policy", p2, "--channel", "visit",
           as_="sam")
    assert seen(board(cli, "2026-03-06 09:30")) == []
    assert explain(cli, ids[p2])["breached"] is True


def test_t5_cancelling_the_policy_cancels_its_first_contact(cli):
    c = customer(cli)
    p = in_force(cli, c, contact=False)
    ident = one(board(cli, "2026-03-05 12:00"), "first-contact", p)["id"]
    at(cli, 2026, 3, 3, 10, 0)
    cli.ok("policy", "cancel", p, "--reason", "cooling-off period", as_="sam")
    assert seen(board(cli, "2026-03-05 12:00")) == []
    assert explain(cli, ident)["status"] == "cancelled"


# -- T6 quarterly-revisit --------------------------------------------------------------------------

def test_t6_quarterly_revisit_per_customer_clamps_month_ends_and_repeats(cli):
    """T6 (24x7 calendar, 3 months, warn 2 weeks): in force Monday 2026-11-30 → due by the end of
    Sunday 2027-02-28 (30 February does not exist), at risk from the end of 14 February. One
    clock per customer, however many policies. A revisit on 20 February opens the next, due by
    the end of 20 May, at risk from the end of 6 May."""
    at(cli, 2026, 11, 30, 10, 0)
    c = customer(cli)
    p1 = in_force(cli, c)
    at(cli, 2026, 12, 15, 10, 0)
    in_force(cli, c)  # a second policy: still one quarterly revisit for the customer
    assert len(follow_ups(cli, "quarterly-revisit")) == 1

    assert seen(board(cli, "2027-02-14 23:59", "--kind", "T6")) == []
    rows = board(cli, "2027-02-15 00:00", "--kind", "T6")
    assert seen(rows) == [("quarterly-revisit", "at_risk", c)]
    assert deadlines(rows) == {("quarterly-revisit", c): local(2027, 3, 1)}
    assert warnings(rows) == {("quarterly-revisit", c): local(2027, 2, 15)}
    first = rows[0]
    assert (first["department"], first["assignee"], first["customer"], first["source"]) == (
        "service", "", c, "T6")
    assert seen(board(cli, "2027-02-28 23:59", "--kind", "T6")) == [
        ("quarterly-revisit", "at_risk", c)]
    assert seen(board(cli, "2027-03-01 00:00", "--kind", "T6")) == [
        ("quarterly-revisit", "overdue", c)]
    # the whole picture on 20 February: the revisit and P1's second installment (due 28 Feb,
    # remind 7 days before: by the end of 21 Feb, warn 2 days before)
    rows = board(cli, "2027-02-20 09:00")
    assert seen(rows) == [("premium-reminder", "at_risk", p1), ("quarterly-revisit", "at_risk", c)]
    assert deadlines(rows)[("premium-reminder", p1)] == local(2027, 2, 22)

    at(cli, 2027, 2, 20, 10, 0)
    cli.ok("revisit", "log", c, "--kind", "quarterly", "--channel", "visit", "--satisfaction",
           "4", "--changed-needs", "second child born", as_="sam")
    assert seen(board(cli, "2027-02-20 10:00", "--kind", "T6")) == []
    assert explain(cli, first["id"])["breached"] is False
    assert seen(board(cli, "2027-05-06 23:59", "--kind", "T6")) == []
    rows = board(cli, "2027-05-07 00:00", "--kind", "T6")
    assert seen(rows) == [("quarterly-revisit", "at_risk", c)]
    assert deadlines(rows) == {("quarterly-revisit", c): local(2027, 5, 21)}
    assert warnings(rows) == {("quarterly-revisit", c): local(2027, 5, 7)}
    assert rows[0]["title"].endswith("— #2")
    assert seen(board(cli, "2027-05-21 00:00", "--kind", "T6")) == [
        ("quarterly-revisit", "overdue", c)]


# -- T7 premium-reminder, premium-overdue, renewal-reminder ----------------------------------------

def _quarterly_policy(cli) -> tuple[str, str]:
    """C-000001 with a quarterly one-year policy effective 2026-03-10 (installments 10 March,
    10 June, 10 September, 10 December, 300.00 each; cover to 2027-03-09), first installment paid
    on Monday 2026-03-02, first contact made."""
    c = customer(cli)
    return c, in_force(cli, c, effective="2026-03-10")


def test_t7_premium_reminder_seven_days_before_each_installment(cli):
    """Installment 2 falls due 10 June: remind by the end of 3 June, at risk from the end of
    1 June. A reminder closes it; paying installment 2 opens installment 3's (10 September)."""
    c, p = _quarterly_policy(cli)
    assert seen(board(cli, "2026-06-01 23:59", "--kind", "T7")) == []
    rows = board(cli, "2026-06-02 00:00", "--kind", "T7")
    assert seen(rows) == [("premium-reminder", "at_risk", p)]
    assert deadlines(rows) == {("premium-reminder", p): local(2026, 6, 4)}
    assert warnings(rows) == {("premium-reminder", p): local(2026, 6, 2)}
    row = rows[0]
    assert (row["department"], row["assignee"], row["source"]) == ("service", "", "T7")
    assert row["title"] == (
        "Remind the customer of the coming installment (renew remind) (installment 2)")
    assert seen(board(cli, "2026-06-04 00:00", "--kind", "T7")) == [
        ("premium-reminder", "overdue", p)]

    at(cli, 2026, 6, 2, 10, 0)
    cli.ok("renew", "remind", p, "--channel", "sms", "--result", "promised_to_pay", as_="sam")
    assert seen(board(cli, "2026-06-03 12:00", "--kind", "T7")) == []
    # a reminder before the due date is not the overdue reminder: that clock still runs
    assert seen(board(cli, "2026-06-18 00:00", "--kind", "T7")) == [
        ("premium-overdue", "overdue", p)]
    record = explain(cli, row["id"])
    assert (record["status"], record["breached"]) == ("done", False)

    at(cli, 2026, 6, 9, 10, 0)
    cli.ok("renew", "pay", p, "--amount", "300.00", "--method", "wechat_pay", as_="sam")
    assert seen(board(cli, "2026-06-18 00:00", "--kind", "T7")) == []
    assert seen(board(cli, "2026-09-01 23:59", "--kind", "T7")) == []
    rows = board(cli, "2026-09-02 00:00", "--kind", "T7")
    assert seen(rows) == [("premium-reminder", "at_risk", p)]
    assert deadlines(rows) == {("premium-reminder", p): local(2026, 9, 4)}
    assert rows[0]["title"].endswith("(installment 3)")


def test_t7_paying_before_the_reminder_closes_it_and_opens_the_next_installments(cli):
    c, p = _quarterly_policy(cli)
    rows = board(cli, "2026-06-02 12:00", "--kind", "premium-reminder")
    ident = one(rows, "premium-reminder", p)["id"]
    at(cli, 2026, 5, 30, 10, 0)
    cli.ok("renew", "pay", p, "--amount", "300.00", "--method", "alipay", as_="sam")
    assert seen(board(cli, "2026-06-02 12:00", "--kind", "T7")) == []
    assert seen(board(cli, "2026-06-20 12:00", "--kind", "T7")) == []
    record = explain(cli, ident)
    assert (record["status"], record["breached"]) == ("done", False)
    rows = board(cli, "2026-09-03 12:00", "--kind", "T7")
    assert seen(rows) == [("premium-reminder", "at_risk", p)]
    assert deadlines(rows) == {("premium-reminder", p): local(2026, 9, 4)}


def test_t7_an_overdue_installment_is_reminded_weekly_until_paid(cli):
    """Installment 2 (10 June) unpaid: from 11 June it is overdue; the first overdue reminder is
    due within a week of the due date (end of 17 June); each reminder opens the next, a week
    after it; payment ends the cadence."""
    c, p = _quarterly_policy(cli)
    at(cli, 2026, 6, 2, 10, 0)
    cli.ok("renew", "remind", p, "--channel", "sms", "--result", "reached", as_="sam")

    assert seen(board(cli, "2026-06-10 23:59", "--kind", "premium-overdue")) == []
    rows = board(cli, "2026-06-11 00:00", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-overdue", "at_risk", p)]
    assert deadlines(rows) == {("premium-overdue", p): local(2026, 6, 18)}
    assert seen(board(cli, "2026-06-17 12:00", "--kind", "premium-overdue")) == [
        ("premium-overdue", "at_risk", p)]
    rows = board(cli, "2026-06-18 00:00", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-overdue", "overdue", p)]
    first = rows[0]["id"]

    at(cli, 2026, 6, 12, 10, 0)
    cli.ok("renew", "remind", p, "--channel", "phone", "--result", "promised_to_pay", as_="sam")
    assert explain(cli, first)["status"] == "done"
    assert seen(board(cli, "2026-06-18 00:00", "--kind", "premium-overdue")) == []
    rows = board(cli, "2026-06-19 09:00", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-overdue", "due_today", p)]
    assert deadlines(rows) == {("premium-overdue", p): local(2026, 6, 20)}
    assert rows[0]["title"].endswith("(installment 2) — #2")
    assert seen(board(cli, "2026-06-20 00:00", "--kind", "premium-overdue")) == [
        ("premium-overdue", "overdue", p)]

    at(cli, 2026, 6, 19, 10, 0)
    cli.ok("renew", "remind", p, "--channel", "phone", "--result", "no_answer", as_="sam")
    rows = board(cli, "2026-06-27 00:00", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-overdue", "overdue", p)]
    assert deadlines(rows) == {("premium-overdue", p): local(2026, 6, 27)}
    third = rows[0]["id"]

    at(cli, 2026, 6, 22, 10, 0)
    cli.ok("renew", "pay", p, "--amount", "300.00", "--method", "bank_transfer", as_="sam")
    assert seen(board(cli, "2026-06-27 00:00", "--kind", "premium-overdue")) == []
    assert explain(cli, third)["status"] == "done"
    # installment 3's clocks are now set: reminder by 3 Sept, overdue reminder by 17 Sept
    rows = board(cli, "2026-09-18 00:00", "--kind", "T7")
    assert seen(rows) == [("premium-overdue", "overdue", p), ("premium-reminder", "overdue", p)]
    assert deadlines(rows) == {("premium-overdue", p): local(2026, 9, 18),
                               ("premium-reminder", p): local(2026, 9, 4)}


def test_t7_suspension_or_cancellation_cancels_the_premium_clocks(cli):
    c, p = _quarterly_policy(cli)
    c2 = customer(cli, "Wang Wei")
    p2 = in_force(cli, c2, effective="2026-03-10")
    ids = {(r["rule"], r["subject"]): r["id"]
           for r in board(cli, "2026-06-18 00:00", "--kind", "T7")}
    assert set(ids) == {("premium-reminder", p), ("premium-overdue", p),
                        ("premium-reminder", p2), ("premium-overdue", p2)}
    at(cli, 2026, 8, 10, 10, 0)  # 61 days after 10 June: past the 60-day grace period
    cli.ok("policy", "suspend", p, as_="sam")
    cli.ok("policy", "cancel", p2, "--reason", "customer asked", as_="sam")
    assert seen(board(cli, "2026-08-10 10:00", "--kind", "T7")) == []
    assert seen(board(cli, "2027-02-05 10:00", "--kind", "T7")) == []  # renewal reminders too
    assert {key: explain(cli, ident)["status"] for key, ident in ids.items()} == {
        ("premium-reminder", p): "cancelled", ("premium-overdue", p): "cancelled",
        ("premium-reminder", p2): "cancelled", ("premium-overdue", p2): "cancelled"}


def test_t7_reinstating_a_suspended_policy_restarts_the_next_installments_clocks(cli):
    """Suspended on 10 August for installment 2 (10 June); installment 2 paid on 12 August and
    the policy reinstated: installment 3 (10 September) is reminded by the end of 3 September
    and, if unpaid, reminded as overdue by the end of 17 September (at risk from 11 September)."""
    c, p = _quarterly_policy(cli)
    at(cli, 2026, 8, 10, 10, 0)
    cli.ok("policy", "suspend", p, as_="sam")
    assert seen(board(cli, "2026-09-20 10:00", "--kind", "premium-reminder", "--kind",
                      "premium-overdue")) == []
    at(cli, 2026, 8, 12, 10, 0)
    cli.ok("policy", "pay", p, "--amount", "300.00", "--method", "bank_transfer", as_="sam")
    cli.ok("policy", "reinstate", p, as_="sam")
    rows = board(cli, "2026-09-02 00:00", "--kind", "premium-reminder", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-reminder", "at_risk", p)]
    assert deadlines(rows) == {("premium-reminder", p): local(2026, 9, 4)}
    rows = board(cli, "2026-09-11 00:00", "--kind", "premium-reminder", "--kind", "premium-overdue")
    assert seen(rows) == [("premium-overdue", "at_risk", p), ("premium-reminder", "overdue", p)]
    assert deadlines(rows)[("premium-overdue", p)] == local(2026, 9, 18)
    assert warnings(rows)[("premium-overdue", p)] == local(2026, 9, 11)


def test_t7_renewal_reminder_thirty_days_before_expiry(cli):
    """An annual one-year policy effective 2026-03-10 covers to 2027-03-09: remind of the renewal
    by the end of 7 February 2027, at risk from the end of 31 January."""
    c = customer(cli)
    p = in_force(cli, c, effective="2026-03-10", frequency="annual", first="1200.00")
    assert seen(board(cli, "2027-01-31 23:59", "--kind", "T7")) == []
    rows = board(cli, "2027-02-01 00:00", "--kind", "T7")
    assert seen(rows) == [("renewal-reminder", "at_risk", p)]
    assert deadlines(rows) == {("renewal-reminder", p): local(2027, 2, 8)}
    assert warnings(rows) == {("renewal-reminder", p): local(2027, 2, 1)}
    assert seen(board(cli, "2027-02-08 00:00", "--kind", "renewal-reminder")) == [
        ("renewal-reminder", "overdue", p)]
    ident = rows[0]["id"]

    at(cli, 2027, 2, 2, 10, 0)
    cli.ok("renew", "remind", p, "--renewal", "--channel", "phone", "--result", "reached",
           as_="sam")
    assert seen(board(cli, "2027-02-08 00:00", "--kind", "T7")) == []
    record = explain(cli, ident)
    assert (record["status"], record["breached"]) == ("done", False)


# -- T8 feedback -----------------------------------------------------------------------------------

def test_t8_feedback_response_counts_business_hours_and_transfer_reroutes(cli):
    """Feedback opened Friday 2026-03-06 16:30: the 4 business hours (09:00-17:30) are 1 h on
    Friday and 3 h on Monday → answer by Monday 12:00, at risk from 11:00. Solving takes up to 5
    working days (end of Friday 13 March). Transferred to claims (carl), then to the underwriting
    queue, the open follow-ups go with it; solving opens 'tell the customer' (1 working day);
    reopening cancels that and restarts the 5 days."""
    c = customer(cli)
    at(cli, 2026, 3, 6, 16, 30)
    f = cli.json("revisit", "feedback", "open", c, "--kind", "complaint", "--summary",
                 "claim form lost twice", as_="sam")["code"]

    assert seen(board(cli, "2026-03-06 17:30")) == []
    rows = board(cli, "2026-03-09 10:59")
    assert seen(rows) == [("feedback-response", "due_today", f)]
    assert deadlines(rows) == {("feedback-response", f): local(2026, 3, 9, 12, 0)}
    assert warnings(rows) == {("feedback-response", f): local(2026, 3, 9, 11, 0)}
    assert (rows[0]["department"], rows[0]["assignee"], rows[0]["source"]) == (
        "service", "sam", "T8, Q1")
    assert seen(board(cli, "2026-03-09 11:00")) == [("feedback-response", "at_risk", f)]
    assert seen(board(cli, "2026-03-09 12:00")) == [("feedback-response", "breached", f)]
    rows = board(cli, "2026-03-13 00:00")
    assert seen(rows) == [("feedback-resolution", "at_risk", f),
                          ("feedback-response", "breached", f)]
    assert deadlines(rows)[("feedback-resolution", f)] == local(2026, 3, 14)
    assert warnings(rows)[("feedback-resolution", f)] == local(2026, 3, 13)

    at(cli, 2026, 3, 9, 10, 0)
    cli.ok("revisit", "feedback", "transfer", f, "--to", "claims", "--assignee", "carl",
           "--note", "find the forms", as_="sam")
    rows = board(cli, "2026-03-13 00:00")
    assert seen(rows) == [("feedback-resolution", "at_risk", f)]
    assert (rows[0]["department"], rows[0]["assignee"]) == ("claims", "carl")
    assert seen(board(cli, "2026-03-13 00:00", "--mine", as_="carl")) == [
        ("feedback-resolution", "at_risk", f)]
    assert seen(board(cli, "2026-03-13 00:00", "--mine", as_="cora")) == []
    assert seen(board(cli, "2026-03-13 00:00", "--mine", as_="sam")) == []
    assert seen(board(cli, "2026-03-13 00:00", "--dept", "claims")) == [
        ("feedback-resolution", "at_risk", f)]
    assert seen(board(cli, "2026-03-13 00:00", "--dept", "service")) == []

    at(cli, 2026, 3, 10, 10, 0)
    cli.ok("revisit", "feedback", "transfer", f, "--to", "underwriting", "--note",
           "a policy condition question", as_="carl")
    rows = board(cli, "2026-03-13 00:00")
    assert (rows[0]["department"], rows[0]["assignee"]) == ("underwriting", "")
    assert seen(board(cli, "2026-03-13 00:00", "--mine", as_="ulf")) == [
        ("feedback-resolution", "at_risk", f)]
    assert seen(board(cli, "2026-03-13 00:00", "--mine", as_="carl")) == []

    at(cli, 2026, 3, 12, 15, 0)
    cli.ok("revisit", "feedback", "resolve", f, "--resolution", "forms found and processed",
           as_="uma")
    assert seen(board(cli, "2026-03-12 23:59")) == []
    rows = board(cli, "2026-03-13 00:00")
    assert seen(rows) == [("feedback-inform", "due_today", f)]
    assert deadlines(rows) == {("feedback-inform", f): local(2026, 3, 14)}
    assert (rows[0]["department"], rows[0]["assignee"]) == ("underwriting", "")

    at(cli, 2026, 3, 13, 10, 0)
    cli.ok("revisit", "feedback", "reopen", f, "--reason", "one form still missing", as_="sam")
    assert seen(board(cli, "2026-03-13 10:00")) == []  # telling is cancelled
    assert seen(board(cli, "2026-03-19 23:59")) == []
    rows = board(cli, "2026-03-20 00:00")
    assert seen(rows) == [("feedback-resolution", "at_risk", f)]
    assert deadlines(rows) == {("feedback-resolution", f): local(2026, 3, 21)}
    assert (rows[0]["department"], rows[0]["assignee"]) == ("underwriting", "")

    at(cli, 2026, 3, 16, 10, 0)
    cli.ok("revisit", "feedback", "resolve", f, "--resolution", "last form found", as_="uma")
    cli.ok("revisit", "feedback", "inform", f, "--channel", "phone", as_="uma")
    assert seen(board(cli, "2026-03-30 12:00")) == []
    states = sorted((x.rule, x.status, x.breached) for x in
                    follow_ups(cli, "feedback-response") + follow_ups(cli, "feedback-resolution")
                    + follow_ups(cli, "feedback-inform"))
    assert states == [("feedback-inform", "cancelled", None), ("feedback-inform", "done", False),
                      ("feedback-resolution", "done", False),
                      ("feedback-resolution", "done", False),
                      ("feedback-response", "done", False)]


def test_t8_feedback_solved_on_the_spot_leaves_only_telling_the_customer(cli):
    c = customer(cli)
    at(cli, 2026, 3, 2, 14, 0)
    f = cli.json("revisit", "feedback", "open", c, "--kind", "question", "--summary",
                 "next premium?", "--resolved", "told: 10 June", as_="sam")["code"]
    rows = board(cli, "2026-03-03 09:00")
    assert seen(rows) == [("feedback-inform", "due_today", f)]
    assert deadlines(rows) == {("feedback-inform", f): local(2026, 3, 4)}


# -- filters ---------------------------------------------------------------------------------------

def test_filters_mine_dept_kind_and_customer(cli):
    """One morning's board: T3 (sally's), T4 (underwriting queue), T5 (service queue), T7, for
    two customers; each filter keeps exactly its rows."""
    c1 = customer(cli)
    p1 = in_force(cli, c1, effective="2026-03-10", contact=False)
    c2 = customer(cli, "Wang Wei", as_="sid")
    a2 = application(cli, c2, as_="sid")
    submit(cli, a2, as_="sid")
    a3 = application(cli, c1)
    submit(cli, a3)
    at(cli, 2026, 5, 31, 10, 0)
    cli.ok("revisit", "log", c1, "--kind", "first_contact", "--policy", p1, "--channel", "phone",
           as_="sam")  # late: no longer on the board
    cli.ok("revisit", "log", c1, "--kind", "quarterly", "--channel", "phone", as_="sam")

    now = "2026-06-02 12:00"
    everything = board(cli, now)
    assert seen(everything) == [
        ("application-status-check", "overdue", a2), ("application-status-check", "overdue", a3),
        ("premium-reminder", "at_risk", p1),
        ("underwriting-decision", "breached", a2), ("underwriting-decision", "breached", a3)]
    assert [(r["department"], r["assignee"]) for r in everything] == [
        ("sales", "sally"), ("sales", "sid"), ("service", ""), ("underwriting", ""),
        ("underwriting", "")]

    assert seen(board(cli, now, "--mine", as_="sally")) == [
        ("application-status-check", "overdue", a3)]
    assert seen(board(cli, now, "--mine", as_="sid")) == [
        ("application-status-check", "overdue", a2)]
    assert seen(board(cli, now, "--mine", as_="uma")) == [
        ("underwriting-decision", "breached", a2), ("underwriting-decision", "breached", a3)]
    assert seen(board(cli, now, "--mine", as_="sam")) == [("premium-reminder", "at_risk", p1)]
    assert seen(board(cli, now, "--mine", as_="carl")) == []
    assert seen(board(cli, now, "--dept", "sales")) == [
        ("application-status-check", "overdue", a2), ("application-status-check", "overdue", a3)]
    assert seen(board(cli, now, "--dept", "underwriting", "--customer", c2)) == [
        ("underwriting-decision", "breached", a2)]
    assert seen(board(cli, now, "--customer", c1)) == [
        ("application-status-check", "overdue", a3), ("premium-reminder", "at_risk", p1),
        ("underwriting-decision", "breached", a3)]
    assert seen(board(cli, now, "--kind", "T7")) == [("premium-reminder", "at_risk", p1)]
    assert seen(board(cli, now, "--kind", "premium-overdue")) == []
    assert seen(board(cli, "2026-06-18 00:00", "--kind", "premium-overdue")) == [
        ("premium-overdue", "overdue", p1)]
    assert seen(board(cli, now, "--kind", "sla")) == [
        ("underwriting-decision", "breached", a2), ("underwriting-decision", "breached", a3)]
    assert seen(board(cli, now, "--kind", "T3", "--kind", "premium-reminder")) == [
        ("application-status-check", "overdue", a2), ("application-status-check", "overdue", a3),
        ("premium-reminder", "at_risk", p1)]
    cli.fails(2, "due", "--kind", "T99", expect="names no rule")
    cli.fails(2, "due", "--kind", "premium-overdu", expect="names no rule")
    cli.fails(3, "due", "--customer", "C-999999")


# -- config changes and the past -------------------------------------------------------------------

def test_changing_a_rule_in_the_config_recomputes_the_open_follow_ups(cli):
    """underwriting-decision cut from 5 to 2 working days on Wednesday 4 March 12:00: the next
    `due` run moves the open clock (submitted Monday → due by the end of Wednesday 4 March, at
    risk from its start) and keeps the old deadline in the history, so the past still reads as it
    was: at 10:00 that morning nothing was at risk yet."""
    c = customer(cli)
    a = application(cli, c)
    submit(cli, a)
    rows = board(cli, "2026-03-09 12:00", "--kind", "T4")
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 3, 10)}
    ident = rows[0]["id"]

    at(cli, 2026, 3, 4, 12, 0)
    assert seen(board(cli, "2026-03-04 12:00", "--kind", "T4")) == []
    path = Path(cli.config_path)
    text = path.read_text(encoding="utf-8")
    old = 'target = "5 working days"'
    spot = text.index(old, text.index("[sla.underwriting-decision]"))
    path.write_text(text[:spot] + 'target = "2 working days"' + text[spot + len(old):],
                    encoding="utf-8")

    result = cli.ok("due", "--format", "json")
    assert "recomputed 1 open follow-up(s)" in result.stderr
    assert seen(json.loads(result.stdout)) == [("application-status-check", "overdue", a),
                                               ("underwriting-decision", "at_risk", a)]
    rows = board(cli, "2026-03-04 12:00", "--kind", "T4")
    assert seen(rows) == [("underwriting-decision", "at_risk", a)]
    assert deadlines(rows) == {("underwriting-decision", a): local(2026, 3, 5)}
    assert warnings(rows) == {("underwriting-decision", a): local(2026, 3, 4)}
    assert seen(board(cli, "2026-03-05 00:00", "--kind", "T4")) == [
        ("underwriting-decision", "breached", a)]
    record = explain(cli, ident)
    assert record["target"] == "2 working days; warn 1 working day before"
    assert datetime.fromisoformat(record["due_at"]) == local(2026, 3, 5)
    assert [(datetime.fromisoformat(h["from"]), datetime.fromisoformat(h["due"]))
            for h in record["deadline history"]] == [
        (local(2026, 3, 2, 9, 0), local(2026, 3, 10)),
        (local(2026, 3, 4, 12, 0), local(2026, 3, 5))]
    assert "recomputed" not in cli.ok("due").stderr  # nothing more to recompute
    # before the change the old deadline stood
    at(cli, 2026, 3, 4, 13, 0)
    assert seen(board(cli, "2026-03-04 10:00", "--kind", "T4")) == []


def test_due_now_in_the_past_gives_the_picture_of_that_time(cli):
    """Take the board at an instant X as it is the present; go on working (done, remind, pause,
    decide, pay, resolve, deliver, more records); `due --now X` later shows exactly the same
    rows."""
    c, p = _quarterly_policy(cli)
    b = application(cli, c, "2026-06-03")
    at(cli, 2026, 6, 2, 9, 0)
    a = application(cli, c)
    submit(cli, a)
    f = cli.json("revisit", "feedback", "open", c, "--kind", "request", "--summary",
                 "change bank account", as_="sam")["code"]

    at(cli, 2026, 6, 3, 10, 0)
    x = "2026-06-03 10:00"
    then = board(cli, x)
    assert seen(then) == [
        ("application-status-check", "due_today", a), ("feedback-response", "breached", f),
        ("plan-delivery", "at_risk", b), ("premium-reminder", "at_risk", p),
        ("quarterly-revisit", "overdue", c)]
    check = one(then, "application-status-check", a)

    # more work after X
    at(cli, 2026, 6, 3, 11, 0)
    cli.ok("due", "done", str(check["id"]), as_="sally")
    cli.ok("apply", "deliver", b, as_="sally")
    cli.ok("renew", "remind", p, "--channel", "sms", "--result", "reached", as_="sam")
    cli.ok("revisit", "log", c, "--kind", "quarterly", "--channel", "phone", as_="sam")
    cli.ok("revisit", "feedback", "resolve", f, "--resolution", "account changed", as_="sam")
    cli.ok("underwrite", "request-info", a, "--what", "salary slips", as_="uma")
    at(cli, 2026, 6, 5, 11, 0)
    cli.ok("underwrite", "info-received", a, as_="uma")
    cli.ok("underwrite", "accept", a, as_="uma")
    cli.ok("renew", "pay", p, "--amount", "300.00", "--method", "cash", as_="sam")
    customer(cli, "Zhao Lei")
    at(cli, 2026, 6, 12, 10, 0)
    assert seen(board(cli, "2026-06-12 10:00")) != seen(then)
    assert board(cli, x) == then
    assert board(cli, x, "--kind", "T3") == [r for r in then if r["source"] == "T3"]
    assert board(cli, x, "--mine", as_="sam") == [r for r in then if r["department"] == "service"]


def test_t7_a_reinstated_policy_gets_its_renewal_reminder_back(cli):
    """Suspension cancels the renewal reminder; reinstatement restarts it (same deadline)."""
    c, p = _quarterly_policy(cli)
    at(cli, 2026, 8, 10, 10, 0)
    cli.ok("policy", "suspend", p, as_="sam")
    assert seen(board(cli, "2027-02-20 10:00", "--kind", "renewal-reminder")) == []
    at(cli, 2026, 8, 12, 10, 0)
    cli.ok("policy", "pay", p, "--amount", "300.00", "--method", "bank_transfer", as_="sam")
    cli.ok("policy", "reinstate", p, as_="sam")
    rows = board(cli, "2027-02-20 10:00", "--kind", "renewal-reminder")
    assert seen(rows) == [("renewal-reminder", "overdue", p)]


def test_t6_the_quarterly_revisit_ends_with_the_customers_last_policy_in_force(cli):
    """T6 is per customer: cancelling one of two policies keeps the clock; cancelling the last
    one ends it (no revisit is owed to a customer with nothing in force)."""
    c = customer(cli)
    p1 = in_force(cli, c)
    p2 = in_force(cli, c)
    [fu] = follow_ups(cli, "quarterly-revisit")
    cli.ok("policy", "cancel", p1, "--reason", "customer asked", as_="sam")
    assert explain(cli, fu.id)["status"] == "open"
    cli.ok("policy", "cancel", p2, "--reason", "customer asked", as_="sam")
    assert explain(cli, fu.id)["status"] == "cancelled"
    assert seen(board(cli, "2026-07-01 10:00", "--kind", "T6")) == []
