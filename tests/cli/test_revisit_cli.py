"""`insurtrack revisit` and `insurtrack revisit feedback` through the CLI: T5, T6, T8, T13, Q2,
json/csv output and bad input (exit 2 malformed, 3 unknown code, 4 wrong state)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from tests import factories


@pytest.fixture
def book(cli, work):
    """C-000001 (Mon 09:00) with P-000001 in force, P-000002 issued, CL-000001 paid and CL-000002
    under investigation; C-000002 with P-000003 in force. The clock then reads Tue 09:00."""
    with work("sally") as w:
        li = factories.customer(w)
        wang = factories.customer(w, name="Wang")
        pol = factories.policy(w, li)
        factories.policy(w, li, status="issued")
        factories.policy(w, wang)
    with work("carl") as w:
        factories.claim(w, pol, status="paid")
        factories.claim(w, pol, status="investigating")
    cli.clock.advance(days=1)
    return cli


def test_log_list_show_revisits(book):
    cli = book
    doc = cli.json("revisit", "log", "c-000001", "--kind", "first_contact", "--channel", "phone",
                   "--policy", "p-000001", "--satisfaction", "5", "--notes", "terms explained",
                   "--at", "2026-03-03 08:30", as_="sam")
    assert (doc["code"], doc["kind"], doc["policy"], doc["by"]) == ("R-000001", "first_contact",
                                                                    "P-000001", "sam")
    assert doc["at"] == "2026-03-03T08:30:00+08:00" and doc["satisfaction"] == 5
    cli.ok("revisit", "log", "C-000001", "--kind", "post_claim", "--channel", "wechat", "--claim",
           "cl-000001", "--satisfaction", "3", "--notes", "wants faster payment", as_="sam")
    cli.ok("revisit", "log", "C-000002", "--kind", "QUARTERLY", "--channel", "visit",
           "--changed-needs", "bought a house", "--at", "2026-03-02 10:00", as_="boss")
    cli.ok("revisit", "log", "C-000002", "--kind", "ad_hoc", "--channel", "sms", as_="sam")
    rows = cli.json("revisit", "list")
    assert [r["code"] for r in rows] == ["R-000004", "R-000002", "R-000001", "R-000003"]
    assert rows[1] == {"code": "R-000002", "at": "2026-03-03T09:00:00+08:00", "customer": "C-000001",
                       "name": "Li Na", "kind": "post_claim", "channel": "wechat",
                       "policy": "P-000001", "claim": "CL-000001", "satisfaction": 3, "by": "sam"}
    assert [r["code"] for r in cli.json("revisit", "list", "--customer", "C-000002")] == ["R-000004", "R-000003"]
    assert [r["code"] for r in cli.json("revisit", "list", "--kind", "quarterly", "--by", "boss")] == ["R-000003"]
    assert [r["code"] for r in cli.json("revisit", "list", "--from", "2026-03-02", "--to", "2026-03-02")] == ["R-000003"]
    assert [r["code"] for r in cli.json("revisit", "list", "--from", "2026-03-03", "--limit", "1")] == ["R-000004"]
    show = cli.json("revisit", "show", "r-000003")
    assert (show["changed_needs"], show["customer"], show["at"]) == (
        "bought a house", "C-000002", "2026-03-02T10:00:00+08:00")
    out = cli.ok("revisit", "list", "--format", "csv").stdout
    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0] == ["code", "at", "customer", "name", "kind", "channel", "policy", "claim",
                        "satisfaction", "by"]
    assert lines[1][:2] == ["R-000004", "2026-03-03T09:00:00+08:00"]
    table = cli.ok("revisit", "show", "R-000001").stdout
    assert "terms explained" in table and "first_contact" in table
    assert "R-000003" in cli.ok("revisit", "list").stdout


def test_log_refuses_bad_input_and_broken_rules(book):
    cli = book
    base = ("revisit", "log", "C-000001", "--channel", "phone")
    # T5: a first contact needs a policy that went in force
    cli.fails(2, *base, "--kind", "first_contact", as_="sam", expect="--policy")
    cli.fails(4, *base, "--kind", "first_contact", "--policy", "P-000002", as_="sam",
              expect="never been in force")
    # T13: a post-claim revisit needs a settled claim
    cli.fails(4, *base, "--kind", "post_claim", "--claim", "CL-000002", as_="sam",
              expect="CL-000002 is investigating, not settled")
    cli.fails(2, *base, "--kind", "post_claim", as_="sam", expect="--claim")
    # T6: a quarterly revisit needs a policy in force
    cli.fails(4, *base, "--kind", "quarterly", "--policy", "P-000002", as_="sam", expect="not in force")
    # the policy must be the customer's
    cli.fails(4, *base, "--kind", "ad_hoc", "--policy", "P-000003", as_="sam",
              expect="P-000003 is not a policy of customer C-000001")
    # Q2: satisfaction 1-5
    cli.fails(2, *base, "--kind", "ad_hoc", "--satisfaction", "0", as_="sam", expect="--satisfaction")
    cli.fails(2, *base, "--kind", "ad_hoc", "--satisfaction", "6", as_="sam", expect="--satisfaction")
    cli.fails(2, *base, "--kind", "ad_hoc", "--satisfaction", "good", as_="sam", expect="--satisfaction")
    # malformed or impossible times
    cli.fails(2, *base, "--kind", "ad_hoc", "--at", "yesterday", as_="sam", expect="--at")
    cli.fails(2, *base, "--kind", "ad_hoc", "--at", "2026-03-03 10:00", as_="sam", expect="in the future")
    cli.fails(2, *base, "--kind", "ad_hoc", "--at", "2026-03-01", as_="sam",
              expect="before customer C-000001 was added")
    # unknown codes and values
    cli.fails(3, "revisit", "log", "C-000404", "--kind", "ad_hoc", "--channel", "phone", as_="sam",
              expect="C-000404")
    cli.fails(3, *base, "--kind", "post_claim", "--claim", "CL-000404", as_="sam", expect="CL-000404")
    cli.fails(2, *base, "--kind", "monthly", as_="sam", expect="--kind")
    cli.fails(2, "revisit", "log", "C-000001", "--kind", "ad_hoc", "--channel", "pigeon",
              as_="sam", expect="--channel")
    cli.fails(2, *base, "--kind", "ad_hoc", "--notes", "x\x07", as_="sam", expect="--notes")


def test_list_and_show_refuse_bad_input(book):
    cli = book
    cli.fails(2, "revisit", "list", "--from", "2026-02-30", expect="--from")
    cli.fails(2, "revisit", "list", "--to", "03/03/2026", expect="--to")
    cli.fails(2, "revisit", "list", "--from", "2026-03-04", "--to", "2026-03-03", expect="is after --to")
    cli.fails(2, "revisit", "list", "--kind", "weekly", expect="--kind")
    cli.fails(2, "revisit", "list", "--format", "xml")
    cli.fails(3, "revisit", "list", "--customer", "C-000404", expect="C-000404")
    cli.fails(3, "revisit", "list", "--by", "ghost", expect="ghost")
    cli.fails(3, "revisit", "show", "R-000404", expect="R-000404")
    cli.fails(2, "revisit", "show", "R-000001", "--format", "yaml")


# ------------------------------------------------------------------------------ feedback (T8)

def test_feedback_lifecycle(book, engine):
    cli = book
    doc = cli.json("revisit", "feedback", "open", "c-000001", "--kind", "complaint", "--summary",
                   "claim paid late", "--channel", "phone", "--claim", "CL-000001",
                   "--at", "2026-03-03 08:00", as_="sam")
    assert (doc["code"], doc["status"], doc["department"], doc["assignee"], doc["claim"],
            doc["policy"]) == ("F-000001", "open", "service", "sam", "CL-000001", "P-000001")
    r = cli.ok("revisit", "feedback", "transfer", "f-000001", "--to", "claims", "--assignee",
               "cora", "--note", "why late?", "--at", "2026-03-03 08:15", as_="sam")
    assert "F-000001" in r.stderr and "transferred to claims" in r.stderr
    cli.ok("revisit", "feedback", "resolve", "F-000001", "--resolution", "bank holiday delay",
           as_="cora")
    cli.ok("revisit", "feedback", "inform", "F-000001", "--channel", "sms", "--note", "apologised",
           as_="sam")
    doc = cli.json("revisit", "feedback", "show", "F-000001")
    assert (doc["status"], doc["department"], doc["assignee"], doc["resolution"],
            doc["resolved_by"], doc["informed_by"]) == (
        "closed", "claims", "cora", "bank holiday delay", "cora", "sam")
    assert [(e["event"], e["by"]) for e in doc["timeline"]] == [
        ("feedback.opened", "sam"), ("feedback.transferred", "sam"), ("feedback.resolved", "cora"),
        ("feedback.informed", "sam")]
    assert doc["timeline"][1]["occurred_at"] == "2026-03-03T08:15:00+08:00"
    assert "to: claims" in doc["timeline"][1]["details"]
    cli.ok("revisit", "feedback", "reopen", "F-000001", "--reason", "customer still unhappy",
           as_="boss")
    doc = cli.json("revisit", "feedback", "show", "F-000001")
    assert (doc["status"], doc["resolution"], doc["informed_at"]) == ("open", None, None)
    assert "Timeline" in cli.ok("revisit", "feedback", "show", "F-000001").stdout


def test_feedback_solved_on_the_spot_and_list(book):
    cli = book
    doc = cli.json("revisit", "feedback", "open", "C-000002", "--kind", "question", "--summary",
                   "when is my next premium due?", "--resolved", "told: 2027-01-01", as_="sally")
    assert (doc["status"], doc["department"], doc["resolution"]) == ("resolved", "sales",
                                                                    "told: 2027-01-01")
    assert [e["event"] for e in doc["timeline"]] == ["feedback.opened", "feedback.resolved"]
    cli.clock.advance(minutes=1)
    cli.ok("revisit", "feedback", "open", "C-000001", "--kind", "request", "--summary",
           "change bank account", "--dept", "underwriting", as_="sam")
    cli.clock.advance(minutes=1)
    cli.ok("revisit", "feedback", "open", "C-000001", "--kind", "complaint", "--summary", "rude",
           "--resolved", "apologised", as_="sam")
    cli.ok("revisit", "feedback", "inform", "F-000003", as_="sam")
    rows = cli.json("revisit", "feedback", "list")
    assert [r["code"] for r in rows] == ["F-000003", "F-000002", "F-000001"]
    assert rows[1] == {"code": "F-000002", "opened_at": "2026-03-03T09:01:00+08:00",
                       "customer": "C-000001", "kind": "request", "status": "open",
                       "department": "underwriting", "assignee": None,
                       "summary": "change bank account"}
    codes = lambda *a: [r["code"] for r in cli.json("revisit", "feedback", "list", *a)]  # noqa: E731
    assert codes("--open") == ["F-000002", "F-000001"]
    assert codes("--status", "resolved") == ["F-000001"]
    assert codes("--dept", "underwriting") == ["F-000002"]
    assert codes("--customer", "C-000001", "--kind", "complaint") == ["F-000003"]
    assert codes("--limit", "1") == ["F-000003"]
    out = cli.ok("revisit", "feedback", "list", "--format", "csv").stdout
    assert list(csv.reader(io.StringIO(out)))[0] == ["code", "opened_at", "customer", "kind",
                                                    "status", "department", "assignee", "summary"]
    assert "change bank account" in cli.ok("revisit", "feedback", "list").stdout


def test_feedback_refuses_bad_input_and_wrong_state(book, work):
    cli = book
    fb = ("revisit", "feedback")
    cli.ok(*fb, "open", "C-000001", "--kind", "complaint", "--summary", "late notice", as_="sam")
    # open
    cli.fails(2, *fb, "open", "C-000001", "--kind", "praise", "--summary", "x", as_="sam", expect="--kind")
    cli.fails(2, *fb, "open", "C-000001", "--kind", "question", "--summary", "  ", as_="sam",
              expect="--summary")
    cli.fails(2, *fb, "open", "C-000001", "--kind", "question", "--summary", "x", "--dept", "legal",
              as_="sam", expect="--dept")
    cli.fails(2, *fb, "open", "C-000001", "--kind", "question", "--summary", "x", "--resolved", " ",
              as_="sam", expect="--resolved")
    cli.fails(2, *fb, "open", "C-000001", "--kind", "question", "--summary", "x", "--at", "soon",
              as_="sam", expect="--at")
    cli.fails(3, *fb, "open", "C-000404", "--kind", "question", "--summary", "x", as_="sam",
              expect="C-000404")
    cli.fails(4, *fb, "open", "C-000002", "--kind", "question", "--summary", "x", "--policy",
              "P-000001", as_="sam", expect="P-000001 is not a policy of customer C-000002")
    # transfer
    cli.fails(4, *fb, "transfer", "F-000001", "--to", "service", "--note", "n", as_="sam",
              expect="already with service")
    cli.fails(2, *fb, "transfer", "F-000001", "--to", "claims", "--assignee", "uma", "--note", "n",
              as_="sam", expect="--assignee 'uma'")
    cli.fails(3, *fb, "transfer", "F-000001", "--to", "claims", "--assignee", "ghost", "--note", "n",
              as_="sam", expect="ghost")
    cli.fails(2, *fb, "transfer", "F-000001", "--to", "claims", "--note", "", as_="sam", expect="--note")
    cli.fails(2, *fb, "transfer", "F-000001", "--to", "claims", "--note", "n", "--at",
              "2026-03-03 08:00", as_="sam", expect="before the previous step of feedback F-000001")
    cli.fails(3, *fb, "transfer", "F-000404", "--to", "claims", "--note", "n", as_="sam", expect="F-000404")
    # inform / reopen before it is resolved
    cli.fails(4, *fb, "inform", "F-000001", as_="sam",
              expect="cannot inform feedback F-000001: it is open; allowed steps: resolve, transfer")
    cli.fails(4, *fb, "reopen", "F-000001", "--reason", "r", as_="sam",
              expect="it is open; allowed steps: resolve, transfer")
    # resolve
    cli.fails(2, *fb, "resolve", "F-000001", "--resolution", "", as_="sam", expect="--resolution")
    cli.fails(3, *fb, "resolve", "F-000404", "--resolution", "r", as_="sam", expect="F-000404")
    cli.ok(*fb, "resolve", "F-000001", "--resolution", "resent", as_="sam")
    cli.fails(4, *fb, "transfer", "F-000001", "--to", "claims", "--note", "n", as_="sam",
              expect="it is resolved; allowed steps: inform, reopen")
    cli.fails(4, *fb, "resolve", "F-000001", "--resolution", "again", as_="sam",
              expect="it is resolved; allowed steps: inform, reopen")
    # inform
    cli.fails(2, *fb, "inform", "F-000001", "--channel", "fax", as_="sam", expect="--channel")
    cli.fails(2, *fb, "inform", "F-000001", "--at", "2026-13-01", as_="sam", expect="--at")
    cli.fails(3, *fb, "inform", "F-000404", as_="sam", expect="F-000404")
    cli.ok(*fb, "inform", "F-000001", as_="sam")
    cli.fails(4, *fb, "inform", "F-000001", as_="sam", expect="it is closed; allowed steps: reopen")
    # reopen
    cli.fails(2, *fb, "reopen", "F-000001", "--reason", " ", as_="sam", expect="--reason")
    cli.fails(3, *fb, "reopen", "F-000404", "--reason", "r", as_="sam", expect="F-000404")
    # list / show
    cli.fails(2, *fb, "list", "--status", "pending", expect="--status")
    cli.fails(2, *fb, "list", "--dept", "legal", expect="--dept")
    cli.fails(3, *fb, "list", "--customer", "C-000404", expect="C-000404")
    cli.fails(2, *fb, "list", "--limit", "-1", expect="--limit")
    cli.fails(3, *fb, "show", "F-000404", expect="F-000404")
    cli.fails(2, *fb, "show", "F-000001", "--format", "xml")
    with work() as w:
        assert w.session.execute(select(m.Feedback.status)).scalar_one() == "closed"
