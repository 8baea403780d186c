"""The shipped claim rules (T9-T13) driven through the CLI at pinned instants.

Every step is a real CLI command (claim report/contact/assess/request-docs/docs-received/
investigate/findings/approve/reject/pay/close, revisit log); the board is read with
`due --now ... --format json` and compared exactly: (rule, state, subject, due_at) of every row.

Times: the clock starts Monday 2026-03-02 09:00 Asia/Shanghai (no holiday that week or the next).
Day-granular deadlines end at the next local midnight (shown as "DAY 24:00"), the start day not
counted; "N working days" skip weekends and official holidays.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from insurtrack.domain import models as m
from tests import factories

REPORT = ["--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
          "--circumstances", "fell on the stairs", "--amount", "12000"]
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def pol(work):
    """P-000001 of C-000001 (owner sally): in force 2026-01-01 to 2026-12-31, term-life 500000.
    Written as rows, without events, so the board starts empty."""
    with work("sally") as w:
        return factories.policy(w, factories.customer(w)).code


def board(cli, now, *extra, as_="boss"):
    """The board at `now`: sorted (rule, state, subject, due_at) of every row."""
    return sorted((r["rule"], r["state"], r["subject"], r["due_at"])
                  for r in cli.json("due", "--now", now, *extra, as_=as_))


def rows(cli, now, *extra, as_="boss"):
    return cli.json("due", "--now", now, *extra, as_=as_)


def fu_id(cli, rule, subject, occurrence=1) -> int:
    """The id of the follow-up of `rule` about `subject` (its n-th occurrence)."""
    with Session(cli.engine) as s:
        return s.execute(select(m.FollowUp.id).where(
            m.FollowUp.rule == rule, m.FollowUp.subject == subject,
            m.FollowUp.occurrence == occurrence)).scalar_one()


def explain(cli, rule, subject, occurrence=1):
    return cli.json("due", "explain", str(fu_id(cli, rule, subject, occurrence)))


def followups(cli, subject):
    """{(rule, occurrence): status} of every follow-up about `subject`."""
    with Session(cli.engine) as s:
        return {(f.rule, f.occurrence): f.status for f in s.execute(
            select(m.FollowUp).where(m.FollowUp.subject == subject)).scalars()}


def report(cli, pol, *extra, as_="carl"):
    cli.ok("claim", "report", pol, *REPORT, *extra, as_=as_)


def assessed(cli, pol, how="--simple", as_="carl"):
    """A claim reported, contacted and assessed now; returns its code."""
    report(cli, pol, as_=as_)
    code = cli.json("claim", "list")[-1]["code"]
    cli.ok("claim", "contact", code, as_=as_)
    cli.ok("claim", "assess", code, how, "--plan", "check the hospital records", as_=as_)
    return code


# ------------------------------------------------------------------ T9 claim-first-contact

T9 = "claim-first-contact"


def test_t9_clock_starts_when_the_report_came_in_and_is_at_risk_at_once(cli, pol):
    """T9: reported 20 minutes ago (`--at "20m ago"`), the 30-minute callback is due at 09:10 and
    the 10-minute warning has already passed at 09:00."""
    report(cli, pol, "--at", "20m ago")
    due = "2026-03-02T09:10:00+08:00"
    assert board(cli, "2026-03-02 08:45") == [(T9, "due_today", "CL-000001", due)]
    assert board(cli, "2026-03-02 09:00") == [(T9, "at_risk", "CL-000001", due)]
    assert board(cli, "2026-03-02 09:09") == [(T9, "at_risk", "CL-000001", due)]
    assert board(cli, "2026-03-02 09:10") == [(T9, "breached", "CL-000001", due)]
    late = rows(cli, "2026-03-02 09:40")
    assert [(r["state"], r["late_by"], r["source"], r["assignee"], r["department"],
             r["customer"], r["warn_at"], r["due"]) for r in late] == [
        ("breached", "30m", "T9", "carl", "claims", "C-000001", "2026-03-02T09:00:00+08:00",
         "2026-03-02 09:10")]
    # before the report came in, nothing was due
    assert board(cli, "2026-03-02 08:39") == []

    doc = explain(cli, T9, "CL-000001")
    assert (doc["started_at"], doc["warn_at"], doc["due_at"], doc["status"], doc["target"],
            doc["calendar"]) == ("2026-03-02T08:40:00+08:00", "2026-03-02T09:00:00+08:00", due,
                                 "open", "30 minutes; warn 10 minutes before", "24x7")


def test_t9_contact_in_time_closes_the_clock(cli, pol):
    report(cli, pol, "--at", "20m ago")
    cli.clock.advance(minutes=5)  # 09:05
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    assert board(cli, "2026-03-02 09:05") == []
    assert board(cli, "2026-03-02 10:00") == []
    # the past is told as it stood: at 09:02 the callback was still owed
    assert board(cli, "2026-03-02 09:02") == [
        (T9, "at_risk", "CL-000001", "2026-03-02T09:10:00+08:00")]
    doc = explain(cli, T9, "CL-000001")
    assert (doc["status"], doc["breached"], doc["closed_at"], doc["closed_by"],
            doc["close_note"]) == ("done", False, "2026-03-02T09:05:00+08:00", "carl",
                                   "claim.contacted")
    assert [(e["event"], e["role"]) for e in doc["events"]] == [
        ("claim.reported", "opened"), ("claim.contacted", "closed")]


def test_t9_contact_after_30_minutes_is_recorded_as_breached(cli, pol):
    report(cli, pol, "--at", "20m ago")
    cli.clock.advance(minutes=15)  # 09:15, five minutes late
    assert board(cli, "2026-03-02 09:15") == [
        (T9, "breached", "CL-000001", "2026-03-02T09:10:00+08:00")]
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    assert board(cli, "2026-03-02 09:15") == []
    doc = explain(cli, T9, "CL-000001")
    assert (doc["status"], doc["breached"], doc["closed_at"]) == (
        "done", True, "2026-03-02T09:15:00+08:00")
    # a contact exactly at the deadline is late too (the deadline instant is exclusive)
    report(cli, pol)  # CL-000002 at 09:15, due 09:45
    cli.clock.advance(minutes=30)
    cli.ok("claim", "contact", "CL-000002", as_="carl")
    assert explain(cli, T9, "CL-000002")["breached"] is True


def test_t9_withdrawn_claim_cancels_the_callback(cli, pol):
    report(cli, pol)
    cli.ok("claim", "close", "CL-000001", "--reason", "customer withdrew", as_="carl")
    assert followups(cli, "CL-000001") == {(T9, 1): "cancelled"}
    assert board(cli, "2026-03-02 12:00") == []


def test_t9_belongs_to_the_claim_handler(cli, pol):
    """Owner-assigned: the handler sees it with --mine; another claims person does not."""
    report(cli, pol, "--at", "20m ago")                       # handled by carl
    report(cli, pol, "--handler", "cora", as_="carl")         # CL-000002, handled by cora
    mine = {r["subject"]: r["assignee"] for r in rows(cli, "2026-03-02 09:00", "--mine", as_="carl")}
    assert mine == {"CL-000001": "carl"}
    mine = {r["subject"]: r["assignee"] for r in rows(cli, "2026-03-02 09:00", "--mine", as_="cora")}
    assert mine == {"CL-000002": "cora"}
    assert rows(cli, "2026-03-02 09:00", "--mine", as_="sam") == []
    assert {r["subject"] for r in rows(cli, "2026-03-02 09:00", "--dept", "claims")} == {
        "CL-000001", "CL-000002"}


def test_t9_as_a_queue_rule_every_claims_person_sees_it(cli, pol):
    with open(cli.config_path, "w", encoding="utf-8") as fh:
        fh.write('[sla.claim-first-contact]\nassign_to = "queue"\n')
    report(cli, pol, "--at", "20m ago")
    for login in ("carl", "cora"):
        got = rows(cli, "2026-03-02 09:00", "--mine", as_=login)
        assert [(r["subject"], r["assignee"], r["department"]) for r in got] == [
            ("CL-000001", "", "claims")]
    assert rows(cli, "2026-03-02 09:00", "--mine", as_="sam") == []


# ------------------------------------------------------------------ T10, T11 investigation

SIMPLE, DECISION, COMPLEX = "simple-investigation", "claim-decision", "complex-claim-review"
PAYMENT, REJECTION, REVISIT = "claim-payment", "rejection-notice", "post-claim-revisit"


def test_t10_simple_investigation_within_5_working_days(cli, pol):
    """Assessed simple on Monday 2026-03-02: 5 working days → end of Monday 2026-03-09; warned at
    the end of the working day before (Friday)."""
    code = assessed(cli, pol)
    simple_due, decision_due = "2026-03-10T00:00:00+08:00", "2026-04-02T00:00:00+08:00"
    assert board(cli, "2026-03-06 12:00") == []
    assert board(cli, "2026-03-07 00:00") == [(SIMPLE, "at_risk", code, simple_due)]
    assert board(cli, "2026-03-09 17:00") == [(SIMPLE, "at_risk", code, simple_due)]
    assert board(cli, "2026-03-10 00:00") == [(SIMPLE, "breached", code, simple_due)]
    got = rows(cli, "2026-03-09 12:00")
    assert [(r["due"], r["warn_at"], r["assignee"], r["source"]) for r in got] == [
        ("2026-03-09 24:00", "2026-03-07T00:00:00+08:00", "carl", "T10, T11")]
    # T12: the 30-day decision clock runs alongside (warned 5 days before)
    assert board(cli, "2026-03-28 00:00") == [
        (DECISION, "at_risk", code, decision_due), (SIMPLE, "breached", code, simple_due)]
    assert board(cli, "2026-04-02 00:00") == [
        (DECISION, "breached", code, decision_due), (SIMPLE, "breached", code, simple_due)]
    assert followups(cli, code) == {(T9, 1): "done", (SIMPLE, 1): "open", (DECISION, 1): "open"}


def test_t11_documents_owed_pause_both_clocks_and_extend_them(cli, pol):
    """T11: asked for documents Tuesday 10:00, received Thursday 10:00 → both clocks wait: the
    simple investigation gains 2 working days, the 30-day decision 2 days."""
    code = assessed(cli, pol)
    cli.clock.advance(days=1, hours=1)  # Tue 03-03 10:00
    cli.ok("claim", "request-docs", code, "--doc", "hospital invoice", as_="carl")
    assert followups(cli, code) == {(T9, 1): "done", (SIMPLE, 1): "paused", (DECISION, 1): "paused"}
    assert board(cli, "2026-03-20 12:00") == []  # a paused clock is never late
    cli.clock.advance(days=2)  # Thu 03-05 10:00
    cli.ok("claim", "docs-received", code, as_="carl")
    simple_due, decision_due = "2026-03-12T00:00:00+08:00", "2026-04-04T00:00:00+08:00"
    assert board(cli, "2026-03-10 12:00") == []
    assert board(cli, "2026-03-11 00:00") == [(SIMPLE, "at_risk", code, simple_due)]
    assert board(cli, "2026-03-12 00:00") == [(SIMPLE, "breached", code, simple_due)]
    assert board(cli, "2026-03-31 00:00") == [
        (DECISION, "at_risk", code, decision_due), (SIMPLE, "breached", code, simple_due)]
    # the past as it stood: at 03-04 the clocks were paused; at 03-03 09:00 they ran as before
    assert board(cli, "2026-03-04 12:00") == []
    doc = explain(cli, SIMPLE, code)
    assert doc["pauses"] == [{"paused": "2026-03-03T10:00:00+08:00",
                              "resumed": "2026-03-05T10:00:00+08:00"}]
    assert [(h["from"], h["due"], h["warn"]) for h in doc["deadline history"]] == [
        ("2026-03-02T09:00:00+08:00", "2026-03-10T00:00:00+08:00", "2026-03-07T00:00:00+08:00"),
        ("2026-03-05T10:00:00+08:00", simple_due, "2026-03-11T00:00:00+08:00")]
    assert [(e["event"], e["role"]) for e in doc["events"]] == [
        ("claim.assessed", "opened"), ("claim.docs_requested", "paused"),
        ("claim.docs_received", "resumed")]
    assert explain(cli, DECISION, code)["warn_at"] == "2026-03-30T00:00:00+08:00"


def test_t11_partial_documents_keep_the_clock_waiting(cli, pol):
    code = assessed(cli, pol)
    cli.clock.advance(hours=1)
    cli.ok("claim", "request-docs", code, "--doc", "invoice", "--doc", "ID copy", as_="carl")
    cli.clock.advance(days=1)
    cli.ok("claim", "docs-received", code, "--doc", "invoice", as_="carl")
    assert followups(cli, code)[(SIMPLE, 1)] == "paused"
    cli.clock.advance(days=1)
    cli.ok("claim", "docs-received", code, as_="carl")
    assert followups(cli, code)[(SIMPLE, 1)] == "open"


def test_t10_t12_approval_meets_the_investigation_and_decision(cli, pol):
    code = assessed(cli, pol)
    cli.clock.advance(days=4)  # Fri 03-06 09:00
    cli.ok("claim", "approve", code, "--amount", "9000", as_="carl")
    assert followups(cli, code) == {(T9, 1): "done", (SIMPLE, 1): "done", (DECISION, 1): "done",
                                    ("claim-payment", 1): "open"}
    assert explain(cli, SIMPLE, code)["breached"] is False
    assert explain(cli, DECISION, code)["close_note"] == "claim.approved"


def test_t10_simple_investigation_met_late_is_breached(cli, pol):
    code = assessed(cli, pol)
    cli.clock.advance(days=8)  # Tue 03-10 09:00, a day late
    cli.ok("claim", "reject", code, "--reason", "not covered", as_="carl")
    assert explain(cli, SIMPLE, code)["breached"] is True
    assert explain(cli, DECISION, code)["breached"] is False


def test_t10_complex_claim_is_reviewed_every_week(cli, pol):
    """T10: a complex case gets a weekly review; recorded findings of a site investigation (T11)
    complete one review and open the next a week later; approval cancels the cadence."""
    code = assessed(cli, pol, "--complex")
    first_due = "2026-03-10T00:00:00+08:00"
    assert followups(cli, code) == {(T9, 1): "done", (COMPLEX, 1): "open", (DECISION, 1): "open"}
    assert board(cli, "2026-03-09 10:00") == [(COMPLEX, "due_today", code, first_due)]
    assert board(cli, "2026-03-10 00:00") == [(COMPLEX, "overdue", code, first_due)]
    cli.clock.advance(days=1)  # Tue 03-03 09:00
    cli.ok("claim", "investigate", code, "--assignee", "cora", "--instructions", "visit", as_="carl")
    assert followups(cli, code)[(COMPLEX, 1)] == "open"  # assigning is not a review
    cli.clock.advance(days=1, hours=1)  # Wed 03-04 10:00
    cli.ok("claim", "findings", code, "--findings", "floor was wet", as_="cora")
    second_due = "2026-03-12T00:00:00+08:00"
    assert followups(cli, code) == {(T9, 1): "done", (COMPLEX, 1): "done", (COMPLEX, 2): "open",
                                    (DECISION, 1): "open"}
    assert board(cli, "2026-03-10 00:00") == []
    assert board(cli, "2026-03-11 10:00") == [(COMPLEX, "due_today", code, second_due)]
    assert board(cli, "2026-03-12 00:00") == [(COMPLEX, "overdue", code, second_due)]
    got = rows(cli, "2026-03-12 00:00")
    assert [(r["title"], r["assignee"]) for r in got] == [
        ("Review the complex claim's progress (mark done: due done ID) — #2", "carl")]
    second = explain(cli, COMPLEX, code, 2)
    assert (second["started_at"], second["target"]) == (
        "2026-03-04T10:00:00+08:00", "1 week, then every 1 week")
    assert explain(cli, COMPLEX, code)["close_note"] == "claim.investigation_recorded"

    # marked done by hand (`due done ID`): the third review is due a week after that
    cli.clock.advance(days=1)  # Thu 03-05 10:00
    cli.ok("due", "done", str(fu_id(cli, COMPLEX, code, 2)), "--note", "called the hospital",
           as_="carl")
    assert board(cli, "2026-03-13 00:00") == [
        (COMPLEX, "overdue", code, "2026-03-13T00:00:00+08:00")]

    cli.ok("claim", "approve", code, "--amount", "9000", as_="carl")
    assert followups(cli, code) == {(T9, 1): "done", (COMPLEX, 1): "done", (COMPLEX, 2): "done",
                                    (COMPLEX, 3): "cancelled", (DECISION, 1): "done",
                                    ("claim-payment", 1): "open"}
    assert board(cli, "2026-03-13 00:00") == [
        (PAYMENT, "at_risk", code, "2026-03-16T00:00:00+08:00")]


def test_t10_reassessing_the_complexity_switches_the_clocks(cli, pol):
    """T10: a simple case reassessed as complex leaves the 5-working-day target (cancelled) for
    the weekly review, counted from the reassessment; and back again. The 30-day decision clock
    (T12) runs on regardless."""
    code = assessed(cli, pol)
    cli.clock.advance(days=1, hours=2)  # Tue 03-03 11:00
    cli.ok("claim", "assess", code, "--complex", "--plan", "site visit", as_="carl")
    assert followups(cli, code) == {(T9, 1): "done", (SIMPLE, 1): "cancelled", (COMPLEX, 1): "open",
                                    (DECISION, 1): "open"}
    assert explain(cli, SIMPLE, code)["close_note"] == "claim.assessed: no longer complexity = simple"
    assert explain(cli, COMPLEX, code)["due_at"] == "2026-03-11T00:00:00+08:00"
    assert explain(cli, DECISION, code)["due_at"] == "2026-04-02T00:00:00+08:00"
    cli.clock.advance(days=1)  # Wed 03-04 11:00
    cli.ok("claim", "assess", code, "--simple", "--plan", "records after all", as_="carl")
    with Session(cli.engine) as s:
        got = [(f.rule, f.status, f.started_at.astimezone(timezone.utc)) for f in s.execute(
            select(m.FollowUp).where(m.FollowUp.rule.in_((SIMPLE, COMPLEX)))
            .order_by(m.FollowUp.id)).scalars()]
    utc = timezone.utc
    assert got == [(SIMPLE, "cancelled", datetime(2026, 3, 2, 1, 0, tzinfo=utc)),
                   (COMPLEX, "cancelled", datetime(2026, 3, 3, 3, 0, tzinfo=utc)),
                   (SIMPLE, "open", datetime(2026, 3, 4, 3, 0, tzinfo=utc))]
    assert board(cli, "2026-03-11 12:00") == [(SIMPLE, "at_risk", code, "2026-03-12T00:00:00+08:00")]


# ------------------------------------------------------------------ T12 decision, payment, rejection


def test_t12_payment_within_10_days_of_approval(cli, pol):
    code = assessed(cli, pol)
    cli.clock.advance(days=4, hours=1)  # Fri 03-06 10:00
    cli.ok("claim", "approve", code, "--amount", "9000", as_="carl")
    due = "2026-03-17T00:00:00+08:00"
    assert board(cli, "2026-03-13 12:00") == []
    assert board(cli, "2026-03-14 00:00") == [(PAYMENT, "at_risk", code, due)]
    assert board(cli, "2026-03-17 00:00") == [(PAYMENT, "breached", code, due)]
    doc = explain(cli, PAYMENT, code)
    assert (doc["started_at"], doc["warn_at"], doc["assignee"], doc["target"]) == (
        "2026-03-06T10:00:00+08:00", "2026-03-14T00:00:00+08:00", "carl",
        "10 days; warn 3 days before")
    cli.clock.advance(days=3)  # Mon 03-09 10:00
    cli.ok("claim", "pay", code, "--method", "bank_transfer", "--reference", "TX-1", as_="carl")
    assert followups(cli, code)[(PAYMENT, 1)] == "done"
    assert explain(cli, PAYMENT, code)["breached"] is False
    # T13 takes over: the post-claim revisit is due 7 days after the payment
    assert board(cli, "2026-03-17 00:00") == [(REVISIT, "overdue", code, due)]


def test_t12_rejection_explained_within_3_days(cli, pol):
    code = assessed(cli, pol)
    cli.clock.advance(days=1)  # Tue 03-03 09:00
    cli.ok("claim", "reject", code, "--reason", "excluded cause", as_="carl")
    due = "2026-03-07T00:00:00+08:00"
    assert followups(cli, code) == {(T9, 1): "done", (SIMPLE, 1): "done", (DECISION, 1): "done",
                                    (REJECTION, 1): "open"}
    assert board(cli, "2026-03-05 12:00") == []
    assert board(cli, "2026-03-06 00:00") == [(REJECTION, "at_risk", code, due)]
    assert board(cli, "2026-03-07 00:00") == [(REJECTION, "breached", code, due)]
    cli.clock.advance(days=2)  # Thu 03-05 09:00
    cli.ok("claim", "close", code, as_="carl")
    assert followups(cli, code)[(REJECTION, 1)] == "done"
    assert explain(cli, REJECTION, code)["breached"] is False
    assert board(cli, "2026-03-07 00:00") == []


def test_t12_decision_paused_while_documents_are_owed(cli, pol):
    """The 30-day decision clock waits for documents (PRC Insurance Law art. 23: 30 days from
    complete documents): 10 days owed push it 10 days."""
    code = assessed(cli, pol)
    cli.clock.advance(days=1)  # Tue 03-03
    cli.ok("claim", "request-docs", code, "--doc", "police report", as_="carl")
    cli.clock.advance(days=10)  # Fri 03-13
    cli.ok("claim", "docs-received", code, as_="carl")
    doc = explain(cli, DECISION, code)
    assert (doc["due_at"], doc["warn_at"], doc["status"]) == (
        "2026-04-12T00:00:00+08:00", "2026-04-07T00:00:00+08:00", "open")
    assert board(cli, "2026-04-12 00:00", "--kind", "T12") == [
        (DECISION, "breached", code, "2026-04-12T00:00:00+08:00")]


# ------------------------------------------------------------------ T13 post-claim revisit

def test_t13_post_claim_revisit_7_days_after_payment(cli, pol):
    code = assessed(cli, pol)
    other = assessed(cli, pol)
    for c in (code, other):
        cli.ok("claim", "approve", c, "--amount", "9000", as_="carl")
    cli.clock.advance(days=7, hours=1)  # Mon 03-09 10:00
    for c in (code, other):
        cli.ok("claim", "pay", c, "--method", "bank_transfer", as_="carl")
    due = "2026-03-17T00:00:00+08:00"
    assert board(cli, "2026-03-14 12:00") == []
    assert board(cli, "2026-03-15 00:00") == [(REVISIT, "at_risk", code, due),
                                              (REVISIT, "at_risk", other, due)]
    got = rows(cli, "2026-03-17 00:00")
    assert [(r["rule"], r["state"], r["department"], r["assignee"], r["source"]) for r in got] == [
        (REVISIT, "overdue", "service", "", "T13")] * 2
    # the service queue sees it, claims does not
    assert len(rows(cli, "2026-03-17 00:00", "--mine", as_="sam")) == 2
    assert rows(cli, "2026-03-17 00:00", "--mine", as_="carl") == []
    # closing the paid claim does not excuse the revisit
    cli.ok("claim", "close", code, as_="carl")
    assert followups(cli, code)[(REVISIT, 1)] == "open"
    cli.clock.advance(days=2)  # Wed 03-11 10:00
    cli.ok("revisit", "log", "C-000001", "--kind", "post_claim", "--claim", code, "--channel",
           "phone", "--satisfaction", "4", as_="sam")
    assert followups(cli, code)[(REVISIT, 1)] == "done"
    assert followups(cli, other)[(REVISIT, 1)] == "open"  # a revisit about another claim
    assert board(cli, "2026-03-17 00:00") == [(REVISIT, "overdue", other, due)]
    assert explain(cli, REVISIT, code)["breached"] is False


# ------------------------------------------------------------------ DST and another country

US_CONFIG = """
[display]
timezone = "America/New_York"

[calendar]
timezone = "America/New_York"
country = "US"
"""


def _us(cli, extra=""):
    with open(cli.config_path, "w", encoding="utf-8") as fh:
        fh.write(US_CONFIG + extra)


def _at_ny(cli, *args):
    cli.clock.instant = datetime(*args, tzinfo=NEW_YORK).astimezone(timezone.utc)


def test_t9_dst_spring_forward_counts_real_minutes(cli, pol):
    """Reported 01:50 EST on 2026-03-08, the night the clocks jump 02:00 → 03:00: 30 real minutes
    later it is 03:20 EDT."""
    _us(cli)
    _at_ny(cli, 2026, 3, 8, 1, 55)
    cli.ok("claim", "report", pol, "--incident-at", "2026-03-08 01:00", "--place", "Broadway",
           "--circumstances", "slipped", "--amount", "1000", "--at", "2026-03-08 01:50", as_="carl")
    doc = explain(cli, T9, "CL-000001")
    assert (doc["started_at"], doc["warn_at"], doc["due_at"]) == (
        "2026-03-08T01:50:00-05:00", "2026-03-08T03:10:00-04:00", "2026-03-08T03:20:00-04:00")
    assert board(cli, "2026-03-08 03:15") == [(T9, "at_risk", "CL-000001", "2026-03-08T03:20:00-04:00")]
    assert board(cli, "2026-03-08 03:20") == [(T9, "breached", "CL-000001", "2026-03-08T03:20:00-04:00")]
    assert rows(cli, "2026-03-08 03:20")[0]["due"] == "2026-03-08 03:20"


def test_t9_dst_fall_back_counts_real_minutes(cli, pol):
    """Reported 01:50 EDT on 2026-11-01 (clocks fall back 02:00 → 01:00): due 01:20 EST."""
    _us(cli)
    _at_ny(cli, 2026, 11, 1, 1, 55)
    cli.ok("claim", "report", pol, "--incident-at", "2026-11-01 01:00", "--place", "Broadway",
           "--circumstances", "slipped", "--amount", "1000", "--at", "2026-11-01 01:50", as_="carl")
    doc = explain(cli, T9, "CL-000001")
    assert (doc["started_at"], doc["due_at"]) == ("2026-11-01T01:50:00-04:00",
                                                  "2026-11-01T01:20:00-05:00")


def test_business_hours_rule_across_the_fall_back_weekend(cli, pol):
    """A 4-business-hour callback (09:00-17:30 New York) reported Friday 2026-10-30 15:30 EDT: two
    hours that Friday, two on Monday 2026-11-02 after the clocks went back → 11:00 EST."""
    _us(cli, '\n[sla.claim-first-contact]\ncalendar = "business"\ntarget = "4 hours"\n'
             'warn_before = "1 hour"\n')
    _at_ny(cli, 2026, 10, 30, 15, 30)
    cli.ok("claim", "report", pol, "--incident-at", "2026-10-30 12:00", "--place", "Broadway",
           "--circumstances", "slipped", "--amount", "1000", as_="carl")
    doc = explain(cli, T9, "CL-000001")
    assert (doc["due_at"], doc["warn_at"], doc["target"], doc["calendar"]) == (
        "2026-11-02T11:00:00-05:00", "2026-11-02T10:00:00-05:00", "4 hours; warn 1 hour before",
        "business")
    assert board(cli, "2026-11-02 09:59") == [(T9, "due_today", "CL-000001", "2026-11-02T11:00:00-05:00")]
    assert board(cli, "2026-11-02 11:00") == [(T9, "breached", "CL-000001", "2026-11-02T11:00:00-05:00")]


def test_working_days_skip_thanksgiving(cli, pol):
    """US calendar: assessed simple Monday 2026-11-23; Thursday 11-26 is Thanksgiving, so the
    5th working day is Tuesday 12-01 (end of day, New York time)."""
    _us(cli)
    _at_ny(cli, 2026, 11, 23, 10, 0)
    cli.ok("claim", "report", pol, "--incident-at", "2026-11-22 12:00", "--place", "Broadway",
           "--circumstances", "slipped", "--amount", "1000", as_="carl")
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    cli.ok("claim", "assess", "CL-000001", "--simple", "--plan", "records", as_="carl")
    doc = explain(cli, SIMPLE, "CL-000001")
    # warned at the end of the working day before: Monday 11-30
    assert (doc["due_at"], doc["warn_at"]) == ("2026-12-02T00:00:00-05:00",
                                               "2026-12-01T00:00:00-05:00")
    assert rows(cli, "2026-12-01 12:00")[0]["due"] == "2026-12-01 24:00"
