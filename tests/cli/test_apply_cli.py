"""`insurtrack apply` through the CLI: L2 plan, T2 delivery, L3 checklist and review, T3 submit,
withdraw, the pipeline listing, json/csv output and bad input for every command."""

import csv
import io

STANDARD = ["signed application form", "proof of identity", "bank account authorisation"]


def customer(cli, name="张伟", *extra):
    cli.ok("customer", "add", name, "--phone", "13800000001", *extra, as_="sally")


def new(cli, *extra, customer="C-000001", as_="sally"):
    return cli.ok("apply", "new", customer, "--line", "term-life:500000:1200",
                  "--frequency", "annual", "--term", "20y", "--promised", "2026-03-09", *extra,
                  as_=as_)


def ready(cli, code="A-000001"):
    """Deliver, receive every standard document and pass the first review."""
    cli.ok("apply", "deliver", code, as_="sally")
    cli.ok("apply", "receive", code, *STANDARD, as_="sally")
    cli.ok("apply", "review", code, "--complete", as_="sally")


def test_l2_l3_t3_from_plan_to_submission(cli):
    customer(cli, "张伟", "--at", "1h ago")
    doc = cli.json("apply", "new", "c-000001", "--line", "term-life:500000:1200",
                   "--line", "Accident:100000.50:99.9", "--frequency", "Quarterly", "--term", "10y",
                   "--promised", "2026-03-09", "--doc", "medical report", "--at", "30m ago",
                   as_="sally")
    assert (doc["code"], doc["status"], doc["frequency"], doc["term"]) == (
        "A-000001", "draft", "quarterly", "10y")
    assert (doc["premium"], doc["sum_insured"], doc["promised"]) == (
        "1299.90", "600000.50", "2026-03-09")
    assert doc["created_at"] == "2026-03-02T08:30:00+08:00" and doc["owner"] == "sally"

    cli.ok("apply", "deliver", "A-000001", as_="sally")
    cli.ok("apply", "receive", "A-000001", "proof of identity", "medical report", as_="sally")
    cli.ok("apply", "require", "A-000001", "income statement", as_="sally")
    docs = cli.json("apply", "docs", "A-000001")
    assert [d["name"] for d in docs] == STANDARD + ["medical report", "income statement"]
    assert docs[1] == {"name": "proof of identity", "required": True,
                       "received_at": "2026-03-02T09:00:00+08:00", "received_by": "sally"}
    out = cli.ok("apply", "docs", "A-000001", "--format", "csv").stdout
    assert next(csv.reader(io.StringIO(out))) == ["name", "required", "received_at", "received_by"]

    result = cli.ok("apply", "review", "A-000001", "--missing", "signature on page 2",
                    "--missing", "bank form", as_="sally")
    assert "incomplete" in result.stderr
    cli.ok("apply", "receive", "A-000001", "signed application form",
           "bank account authorisation", "income statement", as_="sally")
    cli.ok("apply", "review", "A-000001", "--complete", as_="sally")
    result = cli.ok("apply", "submit", "A-000001", as_="sally")
    assert "A-000001" in result.stderr and "submitted" in result.stderr

    shown = cli.json("apply", "show", "a-000001")
    assert shown["status"] == "submitted" and shown["submitted_at"] == "2026-03-02T09:00:00+08:00"
    assert shown["delivered_at"] == "2026-03-02T09:00:00+08:00" and shown["decision"] is None
    assert shown["lines"] == [
        {"product": "term-life", "sum_insured": "500000.00", "premium": "1200.00"},
        {"product": "accident", "sum_insured": "100000.50", "premium": "99.90"}]
    assert [e["event"] for e in shown["timeline"]] == [
        "application.created", "application.plan_delivered", "application.document_received",
        "application.document_required", "application.reviewed", "application.document_received",
        "application.reviewed", "application.submitted"]
    table = cli.ok("apply", "show", "A-000001").stdout
    assert "Application A-000001" in table and "Timeline" in table


def test_pipeline_list_filters_and_formats(cli):
    customer(cli)
    customer(cli, "Li Na")
    new(cli)
    new(cli, "--owner", "sid", customer="C-000002", as_="boss")
    ready(cli, "A-000002")
    cli.ok("apply", "withdraw", "A-000001", "--reason", "bought elsewhere", as_="sally")
    cli.clock.advance(days=4)
    rows = cli.json("apply", "list")
    assert [(r["code"], r["status"]) for r in rows] == [("A-000002", "reviewed"),
                                                        ("A-000001", "withdrawn")]
    assert rows[0] == {"code": "A-000002", "customer": "C-000002", "status": "reviewed",
                       "frequency": "annual", "term": "20y", "premium": "1200.00",
                       "sum_insured": "500000.00", "promised": "2026-03-09", "owner": "sid",
                       "age_days": 4}
    assert [r["code"] for r in cli.json("apply", "list", "--status", "withdrawn")] == ["A-000001"]
    assert [r["code"] for r in cli.json("apply", "list", "--owner", "sid")] == ["A-000002"]
    assert [r["code"] for r in cli.json("apply", "list", "--customer", "c-000001")] == ["A-000001"]
    assert len(cli.json("apply", "list", "--limit", "1")) == 1
    out = cli.ok("apply", "list", "--format", "csv").stdout
    assert next(csv.reader(io.StringIO(out))) == ["code", "customer", "status", "frequency", "term",
                                                  "premium", "sum_insured", "promised", "owner",
                                                  "age_days"]
    assert "A-000002" in cli.ok("apply", "list").stdout
    assert cli.json("apply", "show", "A-000001")["withdraw_reason"] == "bought elsewhere"


def test_new_bad_input(cli):
    customer(cli)
    base = ["--frequency", "annual", "--term", "20y", "--promised", "2026-03-09"]
    line = ["--line", "term-life:500000:1200"]
    cli.fails(2, "apply", "new", "C-000001", "--line", "term-life 500000", *base, as_="sally",
              expect="--line 'term-life 500000': is not PRODUCT:SUM_INSURED:PREMIUM")
    cli.fails(2, "apply", "new", "C-000001", "--line", "term-life:lots:1200", *base, as_="sally",
              expect="the sum insured 'lots' is not an amount")
    cli.fails(2, "apply", "new", "C-000001", "--line", "term-life:500000:-5", *base, as_="sally",
              expect="the premium '-5' is not an amount")
    cli.fails(2, "apply", "new", "C-000001", "--line", "term-life:0:1200", *base, as_="sally",
              expect="the sum insured must be more than zero")
    cli.fails(2, "apply", "new", "C-000001", "--line", "pet:1000:10", *base, as_="sally",
              expect="--line 'pet': is not a product; valid products: term-life")
    cli.fails(2, "apply", "new", "C-000001", *base, as_="sally", expect="--line")
    cli.fails(2, "apply", "new", "C-000001", *line, "--frequency", "weekly", "--term", "1y",
              "--promised", "2026-03-09", as_="sally", expect="--frequency")
    cli.fails(2, "apply", "new", "C-000001", *line, "--frequency", "annual", "--term", "forever",
              "--promised", "2026-03-09", as_="sally", expect="--term 'forever'")
    cli.fails(2, "apply", "new", "C-000001", *line, "--frequency", "quarterly", "--term", "20m",
              "--promised", "2026-03-09", as_="sally",
              expect="--term '20m': is not a whole number of quarterly payment periods")
    cli.fails(2, "apply", "new", "C-000001", *line, "--frequency", "annual", "--term", "1y",
              "--promised", "9 March", as_="sally", expect="--promised '9 March'")
    cli.fails(2, "apply", "new", "C-000001", *line, "--frequency", "annual", "--term", "1y",
              "--promised", "2026-03-01", as_="sally", expect="--promised '2026-03-01': is before")
    cli.fails(2, "apply", "new", "C-000001", *line, *base, "--at", "2026-03-03", as_="sally",
              expect="in the future")
    cli.fails(2, "apply", "new", "C-000001", *line, *base, "--doc", "proof of identity",
              as_="sally", expect="--doc 'proof of identity': is already on the checklist")
    cli.fails(5, "apply", "new", "C-000001", *line, *base, as_="sam",
              expect="sam (service) may not draft a plan")
    cli.fails(3, "apply", "new", "C-000001", *line, *base, "--owner", "ghost", as_="sally",
              expect="ghost")
    cli.fails(3, "apply", "new", "C-000404", *line, *base, as_="sally", expect="C-000404")


def test_step_commands_bad_input(cli):
    customer(cli)
    new(cli)
    cli.fails(3, "apply", "deliver", "A-000404", expect="A-000404")
    cli.fails(2, "apply", "deliver", "A-000001", "--at", "yesterday-ish", expect="--at")
    cli.fails(2, "apply", "deliver", "A-000001", "--at", "1d ago",
              expect="before the previous step of application A-000001")
    cli.ok("apply", "deliver", "A-000001", as_="sally")
    cli.fails(4, "apply", "deliver", "A-000001", expect="already delivered")

    cli.fails(3, "apply", "docs", "A-000404", expect="A-000404")
    cli.fails(2, "apply", "docs", "A-000001", "--format", "xml")
    cli.fails(3, "apply", "receive", "A-000404", "proof of identity", expect="A-000404")
    cli.fails(2, "apply", "receive", "A-000001", "passport",
              expect="NAME 'passport': is not on the checklist of A-000001 (signed application form")
    cli.fails(2, "apply", "receive", "A-000001", expect="NAME")
    cli.ok("apply", "receive", "A-000001", "proof of identity")
    cli.fails(4, "apply", "receive", "A-000001", "proof of identity", expect="already received")
    cli.fails(3, "apply", "require", "A-000404", "x-ray", expect="A-000404")
    cli.fails(4, "apply", "require", "A-000001", "Proof of Identity",
              expect="already on the checklist")
    cli.fails(2, "apply", "require", "A-000001", "  ", expect="NAME")

    cli.fails(3, "apply", "review", "A-000404", "--complete", expect="A-000404")
    cli.fails(2, "apply", "review", "A-000001", expect="--complete/--missing")
    cli.fails(4, "apply", "review", "A-000001", "--complete",
              expect="required documents not received: signed application form, "
                     "bank account authorisation")
    cli.fails(3, "apply", "submit", "A-000404", expect="A-000404")
    cli.fails(4, "apply", "submit", "A-000001",
              expect="it is draft; allowed steps: review_complete, review_incomplete, withdraw")

    cli.fails(3, "apply", "withdraw", "A-000404", "--reason", "x", expect="A-000404")
    cli.fails(2, "apply", "withdraw", "A-000001", expect="--reason")
    cli.fails(2, "apply", "withdraw", "A-000001", "--reason", " ", expect="--reason")
    cli.ok("apply", "withdraw", "A-000001", "--reason", "changed mind")
    cli.fails(4, "apply", "withdraw", "A-000001", "--reason", "again",
              expect="it is withdrawn; allowed steps: none")
    cli.fails(4, "apply", "receive", "A-000001", "signed application form",
              expect="it is withdrawn; possible only while")
    cli.fails(4, "apply", "deliver", "A-000001", expect="it is withdrawn")

    cli.fails(2, "apply", "list", "--status", "pending", expect="--status")
    cli.fails(3, "apply", "list", "--customer", "C-000404", expect="C-000404")
    cli.fails(3, "apply", "list", "--owner", "ghost", expect="ghost")
    cli.fails(2, "apply", "list", "--limit", "-1", expect="--limit")
    cli.fails(3, "apply", "show", "A-000404", expect="A-000404")
    cli.fails(2, "apply", "show", "A-000001", "--format", "yaml")
