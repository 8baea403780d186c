"""`due add/done/snooze/explain`, `--forecast`, `--fail-on-breach` and the csv contract.

Q3: every problem found gets a rectification item (cause, measure, responsible department,
deadline, follow-up of its effect); anything else no rule covers is a manual follow-up. Both live
on the same board as the rule-driven clocks (T2-T13).

The clock starts Monday 2026-03-02 09:00 Asia/Shanghai. A deadline given as a date is the end of
that local day (the next midnight, shown "DAY 24:00").
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from sqlmodel import Session

from insurtrack.domain import models as m
from tests import factories
from tests.cli.test_apply_cli import STANDARD

RECT = ["--rectification", "--cause", "late callbacks in February", "--measure", "callback rota"]
CSV_HEADER = "id,state,department,assignee,rule,source,subject,customer,title,due,late_by,due_at,warn_at"


@pytest.fixture
def cust(work):
    """C-000001, owned by sally."""
    with work("sally") as w:
        return factories.customer(w).code


def board(cli, now, *extra, as_="boss"):
    return sorted((r["rule"], r["state"], r["subject"], r["due_at"])
                  for r in cli.json("due", "--now", now, *extra, as_=as_))


def events(cli, type_):
    with Session(cli.engine) as s:
        return [(e.subject, e.payload) for e in s.execute(
            select(m.Event).where(m.Event.type == type_).order_by(m.Event.id)).scalars()]


def add(cli, *args, as_="boss"):
    return cli.json("due", "add", *args, as_=as_)


# ------------------------------------------------------------------ Q3 rectification items

def test_q3_rectification_item_due_at_the_end_of_its_day(cli, cust):
    doc = add(cli, "Retrain the claims desk on T9", "--by", "2026-03-10", "--dept", "service",
              "--about", "c-000001", *RECT)
    assert {k: doc[k] for k in ("id", "rule", "source", "subject", "customer", "department",
                                "assignee", "status", "due_at", "warn_at", "note", "title")} == {
        "id": 1, "rule": "rectification", "source": "Q3: rectification item",
        "subject": "C-000001", "customer": "C-000001", "department": "service", "assignee": "",
        "status": "open", "due_at": "2026-03-11T00:00:00+08:00", "warn_at": None,
        "note": "cause: late callbacks in February\nmeasure: callback rota",
        "title": "Retrain the claims desk on T9"}
    assert [(e["event"], e["subject"], e["by"], e["role"]) for e in doc["events"]] == [
        ("followup.added", "FU-1", "boss", "opened")]
    (subject, payload), = events(cli, "followup.added")
    assert subject == "FU-1" and payload == {
        "title": "Retrain the claims desk on T9", "department": "service",
        "due": "2026-03-10T16:00:00+00:00", "about": "C-000001", "rectification": True,
        "cause": "late callbacks in February", "measure": "callback rota"}
    assert board(cli, "2026-03-09 12:00") == []
    assert board(cli, "2026-03-10 12:00") == [
        ("rectification", "due_today", "C-000001", "2026-03-11T00:00:00+08:00")]
    rows = cli.json("due", "--now", "2026-03-11 09:00")
    assert [(r["state"], r["source"], r["due"], r["late_by"], r["customer"]) for r in rows] == [
        ("overdue", "Q3", "2026-03-10 24:00", "9h 0m", "C-000001")]
    assert [r["id"] for r in cli.json("due", "--now", "2026-03-11 09:00", "--kind", "Q3")] == [1]
    assert [r["id"] for r in cli.json("due", "--now", "2026-03-11 09:00", "--kind",
                                      "rectification")] == [1]
    assert cli.json("due", "--now", "2026-03-11 09:00", "--kind", "sla") == []
    assert [r["id"] for r in cli.json("due", "--now", "2026-03-11 09:00", "--mine",
                                      as_="sam")] == [1]
    assert cli.json("due", "--now", "2026-03-11 09:00", "--mine", as_="carl") == []
    assert [r["id"] for r in cli.json("due", "--now", "2026-03-11 09:00", "--customer",
                                      "C-000001")] == [1]


def test_manual_follow_up_for_a_person_with_a_warning(cli, cust):
    doc = add(cli, "Call back about the invoice", "--by", "2026-03-04 15:00", "--to", "sam",
              "--warn", "4h", "--note", "she prefers afternoons", as_="sally")
    assert (doc["rule"], doc["source"], doc["department"], doc["assignee"], doc["due_at"],
            doc["warn_at"], doc["note"], doc["subject"]) == (
        "manual", "added by hand", "service", "sam", "2026-03-04T15:00:00+08:00",
        "2026-03-04T11:00:00+08:00", "she prefers afternoons", "")
    assert board(cli, "2026-03-04 10:59") == [("manual", "due_today", "", "2026-03-04T15:00:00+08:00")]
    assert board(cli, "2026-03-04 11:00") == [("manual", "at_risk", "", "2026-03-04T15:00:00+08:00")]
    assert board(cli, "2026-03-04 15:00") == [("manual", "overdue", "", "2026-03-04T15:00:00+08:00")]
    assert [r["assignee"] for r in cli.json("due", "--now", "2026-03-04 15:00", "--mine",
                                            as_="sam")] == ["sam"]


def test_add_refuses_bad_input_and_writes_nothing(cli, cust):
    title = "Retrain the desk"
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", "--dept", "service", "--rectification",
              "--measure", "callback rota", expect="--cause")
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", "--dept", "service", "--rectification",
              "--cause", "late", expect="--measure")
    cli.fails(2, "due", "add", title, "--by", "2026-03-01", "--dept", "service", expect="--by")
    cli.fails(2, "due", "add", title, "--by", "2026-03-02 08:59", "--dept", "service", expect="--by")
    cli.fails(2, "due", "add", title, "--by", "2026-02-30", "--dept", "service", expect="--by")
    cli.fails(2, "due", "add", title, "--by", "next week", "--dept", "service", expect="--by")
    cli.fails(3, "due", "add", title, "--by", "2026-03-10", "--to", "ghost", expect="ghost")
    cli.fails(3, "due", "add", title, "--by", "2026-03-10", "--dept", "service", "--about",
              "C-000099", expect="C-000099")
    cli.fails(3, "due", "add", title, "--by", "2026-03-10", "--dept", "claims", "--about",
              "CL-000001", expect="CL-000001")
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", "--dept", "service", "--about",
              "X-1", expect="--about")
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", expect="--dept")
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", "--dept", "marketing", expect="--dept")
    cli.fails(2, "due", "add", title, "--by", "2026-03-10", "--dept", "service", "--warn",
              "2 days", expect="--warn")
    cli.fails(2, "due", "add", " ", "--by", "2026-03-10", "--dept", "service", expect="TITLE")


# ------------------------------------------------------------------ done

def test_done_closes_it_with_the_note_on_record(cli, cust):
    add(cli, "Retrain the desk", "--by", "2026-03-10", "--dept", "service", "--about", "C-000001",
        *RECT)
    cli.clock.advance(days=2)  # Wed 03-04 09:00
    doc = cli.json("due", "done", "#1", "--note", "rota in place since Tuesday", as_="sam")
    assert (doc["status"], doc["closed_at"], doc["closed_by"], doc["close_note"], doc["breached"],
            doc["state_now"]) == ("done", "2026-03-04T09:00:00+08:00", "sam",
                                  "rota in place since Tuesday", False, "done")
    assert [(e["event"], e["by"], e["role"]) for e in doc["events"]] == [
        ("followup.added", "boss", "opened"), ("followup.done", "sam", "closed")]
    (subject, payload), = events(cli, "followup.done")
    assert subject == "FU-1" and payload["note"] == "rota in place since Tuesday"
    assert payload["rule"] == "rectification" and payload["about"] == "C-000001"
    assert board(cli, "2026-03-11 09:00") == []
    # the past is still told as it stood
    assert board(cli, "2026-03-03 09:00") == []
    cli.fails(4, "due", "done", "1", expect="already done")
    cli.fails(4, "due", "snooze", "1", "--until", "2026-03-20", "--reason", "x", expect="done")


def test_done_late_is_recorded_as_late(cli, cust):
    add(cli, "Send the form", "--by", "2026-03-03", "--dept", "sales")
    cli.clock.advance(days=2)
    assert cli.json("due", "done", "1")["breached"] is True


def test_ids_are_checked(cli, cust):
    for cmd in (["done", "99"], ["explain", "99"],
                ["snooze", "99", "--until", "2026-03-20", "--reason", "x"]):
        cli.fails(3, "due", *cmd, expect="#99")
    for bad in ("abc", "1.5", "#x", "FU-1"):
        cli.fails(2, "due", "done", bad, expect="ID")
        cli.fails(2, "due", "explain", bad, expect="ID")
        cli.fails(2, "due", "snooze", bad, "--until", "2026-03-20", "--reason", "x", expect="ID")


# ------------------------------------------------------------------ snooze

def test_snooze_moves_the_deadline_with_the_reason_on_record(cli, cust):
    add(cli, "Retrain the desk", "--by", "2026-03-10", "--dept", "service", "--warn", "2d", *RECT)
    cli.clock.advance(days=1)  # Tue 03-03 09:00
    doc = cli.json("due", "snooze", "1", "--until", "2026-03-20", "--reason",
                   "trainer ill until mid-March", as_="sam")
    assert (doc["due_at"], doc["warn_at"], doc["status"]) == (
        "2026-03-21T00:00:00+08:00", "2026-03-19T00:00:00+08:00", "open")
    assert [(h["from"], h["due"], h["warn"]) for h in doc["deadline history"]] == [
        ("2026-03-02T09:00:00+08:00", "2026-03-11T00:00:00+08:00", "2026-03-09T00:00:00+08:00"),
        ("2026-03-03T09:00:00+08:00", "2026-03-21T00:00:00+08:00", "2026-03-19T00:00:00+08:00")]
    assert [(e["event"], e["by"]) for e in doc["events"]] == [
        ("followup.added", "boss"), ("followup.snoozed", "sam")]
    (subject, payload), = events(cli, "followup.snoozed")
    assert subject == "FU-1"
    assert (payload["reason"], payload["due_before"], payload["due_after"]) == (
        "trainer ill until mid-March", "2026-03-10T16:00:00+00:00", "2026-03-20T16:00:00+00:00")
    assert board(cli, "2026-03-11 09:00") == []
    assert board(cli, "2026-03-21 00:00") == [
        ("rectification", "overdue", "", "2026-03-21T00:00:00+08:00")]
    # the warning moved with the deadline
    assert board(cli, "2026-03-19 00:00") == [
        ("rectification", "at_risk", "", "2026-03-21T00:00:00+08:00")]
    # a time of day works too
    cli.ok("due", "snooze", "1", "--until", "2026-03-23 12:00", "--reason", "room booked")
    assert cli.json("due", "explain", "1")["due_at"] == "2026-03-23T12:00:00+08:00"


def test_snooze_refuses_what_would_not_postpone(cli, cust):
    add(cli, "Retrain the desk", "--by", "2026-03-10", "--dept", "service")
    cli.fails(2, "due", "snooze", "1", "--until", "2026-03-05", "--reason", "x", expect="--until")
    cli.fails(2, "due", "snooze", "1", "--until", "2026-03-10", "--reason", "x", expect="--until")
    cli.fails(2, "due", "snooze", "1", "--until", "2026-03-20", "--reason", " ", expect="--reason")
    cli.fails(2, "due", "snooze", "1", "--until", "soon", "--reason", "x", expect="--until")
    result = cli("due", "snooze", "1", "--until", "2026-03-20")
    assert result.exit_code == 2 and "--reason" in result.stderr


def test_snooze_of_an_overdue_item_must_land_in_the_future(cli, cust):
    """Snoozing an overdue item to another past instant would hide nothing and mean nothing."""
    add(cli, "Send the form", "--by", "2026-03-03", "--dept", "sales")
    cli.clock.advance(days=3)  # Thu 03-05 09:00; due end of 03-03
    cli.fails(2, "due", "snooze", "1", "--until", "2026-03-04", "--reason", "x", expect="--until")
    cli.ok("due", "snooze", "1", "--until", "2026-03-06", "--reason", "customer abroad")
    assert board(cli, "2026-03-05 09:00") == []


# ------------------------------------------------------------------ explain

def _t4_paused_and_resumed(cli):
    """A T4 application: submitted Monday 09:00, info requested Tuesday 09:00, received Thursday
    09:00 (2 working days paused)."""
    cli.ok("customer", "add", "Li Na", "--phone", "13800000001", as_="sally")
    cli.ok("apply", "new", "C-000001", "--line", "term-life:500000:1200", "--frequency", "annual",
           "--term", "1y", "--promised", "2026-03-02", as_="sally")
    cli.ok("apply", "receive", "A-000001", *STANDARD, as_="sally")
    cli.ok("apply", "review", "A-000001", "--complete", as_="sally")
    cli.ok("apply", "submit", "A-000001", as_="sally")
    cli.clock.advance(days=1)
    cli.ok("underwrite", "request-info", "A-000001", "--what", "medical report", as_="uma")
    cli.clock.advance(days=2)
    cli.ok("underwrite", "info-received", "A-000001", as_="uma")
    with Session(cli.engine) as s:
        return s.execute(select(m.FollowUp.id).where(
            m.FollowUp.rule == "underwriting-decision")).scalar_one()


def test_explain_a_t4_clock_paused_and_resumed(cli):
    ident = _t4_paused_and_resumed(cli)
    doc = cli.json("due", "explain", str(ident))
    assert {k: doc[k] for k in ("rule", "subject", "customer", "department", "assignee", "status",
                                "state_now", "target", "calendar", "occurrence", "opened_at",
                                "started_at", "warn_at", "due_at", "closed_at", "breached")} == {
        "rule": "underwriting-decision", "subject": "A-000001", "customer": "C-000001",
        "department": "underwriting", "assignee": "", "status": "open", "state_now": "upcoming",
        "target": "5 working days; warn 1 working day before", "calendar": "24x7",
        "occurrence": 1, "opened_at": "2026-03-02T09:00:00+08:00",
        "started_at": "2026-03-02T09:00:00+08:00", "warn_at": "2026-03-11T00:00:00+08:00",
        "due_at": "2026-03-12T00:00:00+08:00", "closed_at": None, "breached": None}
    assert doc["source"].startswith("T4: underwriting decides within a set time")
    assert doc["pauses"] == [{"paused": "2026-03-03T09:00:00+08:00",
                              "resumed": "2026-03-05T09:00:00+08:00"}]
    assert doc["deadline history"] == [
        {"from": "2026-03-02T09:00:00+08:00", "due": "2026-03-10T00:00:00+08:00",
         "warn": "2026-03-07T00:00:00+08:00"},
        {"from": "2026-03-05T09:00:00+08:00", "due": "2026-03-12T00:00:00+08:00",
         "warn": "2026-03-11T00:00:00+08:00"}]
    assert [(e["occurred_at"], e["event"], e["subject"], e["by"], e["role"])
            for e in doc["events"]] == [
        ("2026-03-02T09:00:00+08:00", "application.submitted", "A-000001", "sally", "opened"),
        ("2026-03-03T09:00:00+08:00", "application.info_requested", "A-000001", "uma", "paused"),
        ("2026-03-05T09:00:00+08:00", "application.info_received", "A-000001", "uma", "resumed")]

    table = cli.ok("due", "explain", str(ident)).stdout
    for text in ("underwriting-decision", "5 working days; warn 1 working day before",
                 "2026-03-03 09:00", "2026-03-05 09:00", "2026-03-10 00:00", "2026-03-12 00:00",
                 "application.info_requested", "paused", "resumed", "Deadline history", "Events"):
        assert text in table, text

    cli.clock.advance(hours=2)
    cli.ok("underwrite", "accept", "A-000001", as_="ulf")
    doc = cli.json("due", "explain", f"#{ident}")
    assert (doc["status"], doc["closed_by"], doc["breached"], doc["events"][-1]["role"],
            doc["events"][-1]["event"]) == ("done", "ulf", False, "closed", "application.accepted")


def test_explain_csv_is_one_row(cli, cust):
    add(cli, "Retrain the desk", "--by", "2026-03-10", "--dept", "service", *RECT)
    rows = list(csv.DictReader(io.StringIO(cli.ok("due", "explain", "1", "--format", "csv").stdout)))
    assert len(rows) == 1 and rows[0]["rule"] == "rectification"
    assert rows[0]["due_at"] == "2026-03-11T00:00:00+08:00"


# ------------------------------------------------------------------ forecast

def _small_book(cli):
    pol = "P-000001"
    cli.ok("claim", "report", pol, "--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
           "--circumstances", "fell", "--amount", "1000", "--at", "20m ago", as_="carl")  # 09:10
    add(cli, "A", "--by", "2026-03-04", "--dept", "service")
    add(cli, "B", "--by", "2026-03-04 15:00", "--to", "sam")
    add(cli, "C", "--by", "2026-03-08", "--dept", "sales")  # the 7th day, Sunday
    add(cli, "D", "--by", "2026-03-09", "--dept", "sales")  # the 8th day: not counted
    add(cli, "E", "--by", "2026-03-03 10:00", "--to", "carl")


@pytest.fixture
def book(work, cli):
    with work("sally") as w:
        factories.policy(w, factories.customer(w))
    _small_book(cli)


def test_forecast_counts_per_department_per_day(cli, book):
    got = cli.json("due", "--forecast", "7d")
    assert got == [
        {"day": "2026-03-02", "working_day": True, "claims": 1, "sales": 0, "service": 0, "total": 1},
        {"day": "2026-03-03", "working_day": True, "claims": 1, "sales": 0, "service": 0, "total": 1},
        {"day": "2026-03-04", "working_day": True, "claims": 0, "sales": 0, "service": 2, "total": 2},
        {"day": "2026-03-05", "working_day": True, "claims": 0, "sales": 0, "service": 0, "total": 0},
        {"day": "2026-03-06", "working_day": True, "claims": 0, "sales": 0, "service": 0, "total": 0},
        {"day": "2026-03-07", "working_day": False, "claims": 0, "sales": 0, "service": 0, "total": 0},
        {"day": "2026-03-08", "working_day": False, "claims": 0, "sales": 1, "service": 0, "total": 1},
    ]
    assert cli.json("due", "--forecast", "3d", "--dept", "service") == [
        {"day": "2026-03-02", "working_day": True, "service": 0, "total": 0},
        {"day": "2026-03-03", "working_day": True, "service": 0, "total": 0},
        {"day": "2026-03-04", "working_day": True, "service": 2, "total": 2}]
    assert [r["total"] for r in cli.json("due", "--forecast", "8d")] == [1, 1, 2, 0, 0, 0, 1, 1]
    assert [r["total"] for r in cli.json("due", "--forecast", "3d", "--mine", as_="carl")] == [
        1, 1, 0]
    # a day later what is already late counts today; what was met is gone
    cli.clock.advance(days=1, hours=1)  # Tue 03-03 10:00
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    assert [(r["day"], r["total"]) for r in cli.json("due", "--forecast", "2d")] == [
        ("2026-03-03", 1), ("2026-03-04", 2)]
    assert "2026-03-04" in cli.ok("due", "--forecast", "7d").stdout


@pytest.mark.parametrize("bad", ["xyz", "0d", "400d", "-3d", "7w", ""])
def test_forecast_bad_span(cli, bad):
    cli.fails(2, "due", "--forecast", bad, expect="--forecast")


# ------------------------------------------------------------------ exit codes, csv

def test_fail_on_breach_exits_8_only_when_something_is_late(cli, book):
    ok = cli("due", "--fail-on-breach", "--now", "2026-03-02 09:05")  # T9 only at risk
    assert ok.exit_code == 0 and "CL-000001" in ok.stdout
    late = cli("due", "--fail-on-breach", "--now", "2026-03-02 09:10", "--format", "json")
    assert late.exit_code == 8 and '"breached"' in late.stdout and "1 breached" in late.stderr
    assert cli("due", "--fail-on-breach", "--now", "2026-03-02 09:10", "--dept", "sales").exit_code == 0
    # a manual item past its deadline is overdue, and that counts too
    cli.clock.advance(days=1, hours=1)  # Tue 03-03 10:00
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    over = cli("due", "--fail-on-breach", "--dept", "claims")
    assert over.exit_code == 8 and "overdue" in over.stderr
    assert cli("due", "--fail-on-breach", "--dept", "service").exit_code == 0
    assert cli("due", "--now", "2026-03-02 09:10").exit_code == 0  # without the flag: 0


def test_fail_on_breach_on_an_empty_board(cli):
    result = cli("due", "--fail-on-breach")
    assert result.exit_code == 0


def test_dry_run_needs_notify(cli):
    cli.fails(2, "due", "--dry-run", expect="--notify")


def test_csv_has_the_documented_header(cli, book):
    empty = cli.ok("due", "--now", "2026-03-01 09:00", "--format", "csv").stdout
    assert empty.splitlines()[0] == CSV_HEADER
    out = cli.ok("due", "--now", "2026-03-03 12:00", "--format", "csv").stdout
    assert out.splitlines()[0] == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["id"], r["state"], r["department"], r["assignee"], r["rule"], r["source"],
             r["subject"], r["customer"], r["due"], r["late_by"], r["due_at"], r["warn_at"])
            for r in rows] == [
        ("1", "breached", "claims", "carl", "claim-first-contact", "T9", "CL-000001", "C-000001",
         "2026-03-02 09:10", "1d 2h", "2026-03-02T09:10:00+08:00", "2026-03-02T09:00:00+08:00"),
        ("6", "overdue", "claims", "carl", "manual", "", "", "", "2026-03-03 10:00", "2h 0m",
         "2026-03-03T10:00:00+08:00", ""),
    ]
