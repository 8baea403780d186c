"""`insurtrack underwrite` through the CLI: the T4 queue, L4 decisions, json output, bad input."""

import csv
import io

from tests.cli.test_apply_cli import STANDARD


def submitted(cli, customer="C-000001"):
    """A new application for `customer`, through delivery, documents and review to submission."""
    cli.ok("apply", "new", customer, "--line", "term-life:500000:1200", "--line",
           "medical:20000:300.50", "--frequency", "monthly", "--term", "1y", "--promised",
           "2026-03-09", as_="sally")
    code = cli.json("apply", "list", "--customer", customer)[-1]["code"]
    cli.ok("apply", "receive", code, *STANDARD, as_="sally")
    cli.ok("apply", "review", code, "--complete", as_="sally")
    cli.ok("apply", "submit", code, as_="sally")
    return code


def setup(cli):
    cli.ok("customer", "add", "张伟", "--phone", "13800000001", as_="sally")
    cli.ok("customer", "rate", "C-000001", "--credit", "C", "--risk", "high", "--reason",
           "bounced premiums", as_="sally")
    cli.ok("customer", "add", "Li Na", "--phone", "13800000002", as_="sally")


def test_t4_queue_request_info_and_l4_accept(cli):
    setup(cli)
    first = submitted(cli)
    cli.clock.advance(days=1)
    second = submitted(cli, "C-000002")
    cli.clock.advance(days=2)
    queue = cli.json("underwrite", "queue", as_="uma")
    assert [r["code"] for r in queue] == [first, second]
    assert queue[0] == {"code": first, "customer": "C-000001", "credit": "C", "risk": "high",
                        "status": "submitted", "submitted_at": "2026-03-02T09:00:00+08:00",
                        "waiting_days": 3, "sum_insured": "520000.00", "premium": "1500.50",
                        "owed": None}
    out = cli.ok("underwrite", "queue", "--format", "csv").stdout
    assert next(csv.reader(io.StringIO(out)))[:3] == ["code", "customer", "credit"]

    result = cli.ok("underwrite", "request-info", first, "--what", "hospital records 2025",
                    as_="uma")
    assert "hospital records 2025" in result.stderr
    row = cli.json("underwrite", "queue")[0]
    assert (row["status"], row["owed"]) == ("info_requested", "hospital records 2025")
    cli.ok("apply", "require", first, "hospital records 2025", as_="sally")
    cli.ok("apply", "receive", first, "hospital records 2025", as_="sally")
    cli.ok("underwrite", "info-received", first, "--note", "all pages", as_="sally")
    assert cli.json("underwrite", "queue")[0]["owed"] is None

    cli.ok("underwrite", "accept", first, "--conditions", "excludes heart disease", "--loading",
           "12.5%", as_="uma")
    shown = cli.json("apply", "show", first)
    assert (shown["status"], shown["decision"], shown["conditions"], shown["rate_loading"]) == (
        "accepted", "accept", "excludes heart disease", "12.50")
    assert (shown["decided_by"], shown["decided_at"]) == ("uma", "2026-03-05T09:00:00+08:00")
    assert [e["event"] for e in shown["timeline"]][-5:] == [
        "application.info_requested", "application.document_required",
        "application.document_received", "application.info_received", "application.accepted"]
    assert [r["code"] for r in cli.json("underwrite", "queue")] == [second]
    assert "(no underwriting queue)" not in cli.ok("underwrite", "queue").stderr


def test_l4_decline_with_reason_and_advice(cli):
    setup(cli)
    code = submitted(cli)
    cli.clock.advance(hours=1)
    cli.ok("underwrite", "decline", code, "--reason", "undisclosed condition", "--advice",
           "consider accident cover", "--at", "10m ago", as_="ulf")
    shown = cli.json("apply", "show", code)
    assert (shown["status"], shown["decline_reason"], shown["decline_advice"]) == (
        "declined", "undisclosed condition", "consider accident cover")
    assert shown["decided_at"] == "2026-03-02T09:50:00+08:00"
    assert cli.json("underwrite", "queue") == []
    assert "(no underwriting queue)" in cli.ok("underwrite", "queue").stderr


def test_underwrite_bad_input(cli):
    setup(cli)
    code = submitted(cli)
    cli.ok("apply", "new", "C-000002", "--line", "auto:100000:800", "--frequency", "single",
           "--term", "1y", "--promised", "2026-03-02", as_="sally")
    cli.fails(2, "underwrite", "queue", "--format", "xml")
    cli.fails(3, "underwrite", "accept", "A-000404", expect="A-000404")
    cli.fails(2, "underwrite", "accept", code, "--loading", "a lot", expect="--loading 'a lot'")
    cli.fails(2, "underwrite", "accept", code, "--loading", "-5", expect="--loading")
    cli.fails(2, "underwrite", "accept", code, "--loading", "0", expect="must be more than zero")
    cli.fails(2, "underwrite", "accept", code, "--at", "3h ago",
              expect="before the previous step of application")
    cli.fails(2, "underwrite", "accept", code, "--at", "soon", expect="--at 'soon'")
    cli.fails(4, "underwrite", "accept", "A-000002",
              expect="cannot accept application A-000002: it is draft")
    cli.fails(3, "underwrite", "decline", "A-000404", "--reason", "r", "--advice", "a",
              expect="A-000404")
    cli.fails(2, "underwrite", "decline", code, "--reason", "r", expect="--advice")
    cli.fails(2, "underwrite", "decline", code, "--reason", "", "--advice", "a", expect="--reason")
    cli.fails(3, "underwrite", "request-info", "A-000404", "--what", "x", expect="A-000404")
    cli.fails(2, "underwrite", "request-info", code, expect="--what")
    cli.fails(4, "underwrite", "request-info", "A-000002", "--what", "x", expect="it is draft")
    cli.fails(3, "underwrite", "info-received", "A-000404", expect="A-000404")
    cli.fails(4, "underwrite", "info-received", code,
              expect="it is submitted; allowed steps: accept, decline, request_info, withdraw")
    cli.ok("apply", "withdraw", code, "--reason", "moved abroad", as_="sally")
    cli.fails(4, "underwrite", "accept", code, expect="it is withdrawn; allowed steps: none")
    cli.fails(4, "underwrite", "decline", code, "--reason", "r", "--advice", "a",
              expect="it is withdrawn")
