"""`insurtrack claim` end to end (L7, T9-T12): happy paths, json output and refused input."""

from __future__ import annotations

import pytest

from tests import factories

REPORT = ["--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
          "--circumstances", "fell on the stairs", "--amount", "12000"]


@pytest.fixture
def pol(work):
    """P-000001 of C-000001: in force 2026-01-01 to 2026-12-31, term-life 500000."""
    with work("sally") as w:
        return factories.policy(w, factories.customer(w))


def _claim(work, pol, status, **kw):
    with work("carl") as w:
        return factories.claim(w, pol, status=status, **kw).code


def test_claim_lifecycle_end_to_end(cli, pol):
    """T9 report phoned in 20 minutes ago → contact → T10 assess → T11 documents and site
    investigation → T12 approve and pay → close; reopen → approve the rest → pay."""
    done = cli.ok("claim", "report", "p-000001", *REPORT, "--at", "20m ago", "--product", "term-life",
                  "--reporter", "Wang Fang", "--reporter-phone", "13900000000", "--cause", "fall",
                  as_="carl")
    assert "CL-000001" in done.stdout and "contact the claimant" in done.stderr
    steps = [
        ("contact", "--note", "asked for the invoice"),
        ("assess", "--complex", "--plan", "site visit and records"),
        ("request-docs", "--doc", "hospital invoice", "--doc", "ID copy"),
        ("investigate", "--assignee", "cora", "--instructions", "visit the shop"),
        ("docs-received", "--doc", "ID copy"),
        ("docs-received",),
        ("findings", "--findings", "floor was wet"),
        ("approve", "--amount", "300000"),
        ("pay", "--method", "bank_transfer", "--reference", "TX-1"),
        ("close",),
        ("reopen", "--reason", "further costs"),
        ("approve", "--amount", "200000.00"),
        ("pay", "--method", "WECHAT_PAY", "--amount", "200000"),
    ]
    for step, *args in steps:
        # K4: above claims.second_approval_above someone other than the assessor (carl) approves
        cli.ok("claim", step, "cl-000001", *args, as_="cora" if step == "approve" else "carl")
    doc = cli.json("claim", "show", "CL-000001")
    assert (doc["status"], doc["paid"], doc["approved"]) == ("paid", "500000.00", "200000.00")
    assert doc["reported_at"] == "2026-03-02T08:40:00+08:00"
    assert [d["document"] for d in doc["documents"]] == ["hospital invoice", "ID copy"]
    assert doc["investigations"][0]["findings"] == "floor was wet"
    assert [t["event"] for t in doc["timeline"]] == [
        "claim.reported", "claim.contacted", "claim.assessed", "claim.docs_requested",
        "claim.investigation_assigned", "claim.docs_received", "claim.docs_received",
        "claim.investigation_recorded", "claim.approved", "claim.paid", "claim.closed",
        "claim.reopened", "claim.approved", "claim.paid"]


def test_reject_and_withdraw(cli, work, pol):
    a = _claim(work, pol, "investigating")
    b = _claim(work, pol, "reported")
    cli.ok("claim", "reject", a, "--reason", "excluded cause", as_="carl")
    cli.ok("claim", "close", a, as_="carl")
    out = cli.ok("claim", "close", b, "--reason", "customer withdrew", as_="carl")
    assert "CL-000002: closed" in out.stderr
    assert cli.json("claim", "show", a)["rejection_reason"] == "excluded cause"
    assert cli.json("claim", "show", b)["timeline"][-1]["details"] == (
        "reason: customer withdrew; withdrawn: True")


def test_list_json_and_filters(cli, work, pol):
    a = _claim(work, pol, "reported")
    b = _claim(work, pol, "closed")
    rows = cli.json("claim", "list")
    assert [r["code"] for r in rows] == [a, b]
    assert set(rows[0]) == {"code", "status", "policy", "customer", "handler", "incident_at",
                            "reported_at", "complexity", "claimed", "approved", "paid"}
    assert rows[0]["claimed"] == "10000.00" and rows[0]["policy"] == "P-000001"
    assert [r["code"] for r in cli.json("claim", "list", "--open")] == [a]
    assert [r["code"] for r in cli.json("claim", "list", "--status", "CLOSED")] == [b]
    assert [r["code"] for r in cli.json("claim", "list", "--customer", "c-000001",
                                        "--handler", "carl", "--policy", "P-000001")] == [a, b]
    assert "CL-000001" in cli.ok("claim", "list").stdout
    assert "CL-000001" in cli.ok("claim", "show", a).stdout
    assert cli.ok("claim", "list", "--format", "csv").stdout.startswith("code,status,policy")


# ------------------------------------------------------------------ refused input, per command

def test_report_bad_input(cli, pol):
    cli.fails(3, "claim", "report", "P-000404", *REPORT, expect="no policy 'P-000404'")
    cli.fails(2, "claim", "report", "P-000001", *REPORT[:-1], "12,000", expect="--amount")
    cli.fails(2, "claim", "report", "P-000001", *REPORT[:-1], "0", expect="--amount")
    cli.fails(2, "claim", "report", "P-000001", *REPORT, "--at", "yesterday", expect="--at")
    cli.fails(2, "claim", "report", "P-000001", "--incident-at", "2026-02-30", *REPORT[2:],
              expect="--incident-at")
    cli.fails(2, "claim", "report", "P-000001", "--incident-at", "1h ago", *REPORT[2:],
              "--at", "2h ago", expect="after the report")
    cli.fails(4, "claim", "report", "P-000001", "--incident-at", "2025-12-31 12:00", *REPORT[2:],
              expect="outside the cover")
    cli.fails(2, "claim", "report", "P-000001", *REPORT, "--product", "auto", expect="--product")
    cli.fails(2, "claim", "report", "P-000001", *REPORT, "--reporter-phone", "x",
              expect="--reporter-phone")
    cli.fails(2, "claim", "report", "P-000001", *REPORT[:4], "--circumstances", " ",
              *REPORT[6:], expect="--circumstances")
    cli.fails(3, "claim", "report", "P-000001", *REPORT, "--handler", "ghost", expect="ghost")


def test_step_commands_refuse_unknown_claims(cli, pol):
    for args in (["contact"], ["assess", "--simple", "--plan", "x"], ["request-docs", "--doc", "x"],
                 ["docs-received"], ["investigate", "--assignee", "cora"],
                 ["findings", "--findings", "x"], ["approve", "--amount", "1"],
                 ["reject", "--reason", "x"], ["pay", "--method", "cash"], ["close"],
                 ["reopen", "--reason", "x"], ["show"]):
        cli.fails(3, "claim", args[0], "CL-000404", *args[1:], expect="no claim 'CL-000404'")


def test_contact_bad_input(cli, work, pol):
    code = _claim(work, pol, "contacted")
    cli.fails(2, "claim", "contact", code, "--at", "2026-13-01", expect="--at")
    cli.fails(4, "claim", "contact", code, expect="it is contacted; allowed steps: assess, withdraw")


def test_contact_at_before_report_refused(cli, work, pol):
    code = _claim(work, pol, "reported")
    cli.fails(2, "claim", "contact", code, "--at", "5m ago", expect="before the previous step")


def test_assess_bad_input(cli, work, pol):
    code = _claim(work, pol, "reported")
    cli.fails(2, "claim", "assess", code, "--plan", "x", expect="choose exactly one")
    cli.fails(2, "claim", "assess", code, "--simple", "--complex", "--plan", "x",
              expect="--simple/--complex")
    cli.fails(2, "claim", "assess", code, "--simple", expect="--plan")
    cli.fails(4, "claim", "assess", code, "--simple", "--plan", "x", expect="it is reported")


def test_request_docs_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(2, "claim", "request-docs", code, expect="--doc")
    cli.fails(2, "claim", "request-docs", code, "--doc", " ", expect="--doc")
    other = _claim(work, pol, "reported")
    cli.fails(4, "claim", "request-docs", other, "--doc", "invoice", expect="it is reported")


def test_docs_received_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(4, "claim", "docs-received", code, expect="it is investigating")
    cli.ok("claim", "request-docs", code, "--doc", "invoice")
    cli.fails(2, "claim", "docs-received", code, "--doc", "receipt",
              expect="outstanding: invoice")


def test_investigate_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(3, "claim", "investigate", code, "--assignee", "ghost", expect="ghost")
    cli.fails(2, "claim", "investigate", code, expect="--assignee")
    cli.fails(4, "claim", "investigate", _claim(work, pol, "approved", approved_amount="1.00"),
              "--assignee", "cora", expect="it is approved")


def test_findings_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(4, "claim", "findings", code, "--findings", "x", expect="no site investigation")
    cli.ok("claim", "investigate", code, "--assignee", "cora")
    cli.fails(2, "claim", "findings", code, "--findings", "x", "--investigation", "two",
              expect="--investigation")
    cli.fails(2, "claim", "findings", code, "--findings", "x", "--investigation", "2",
              expect="--investigation 2")
    cli.fails(4, "claim", "approve", code, "--amount", "100", expect="has no findings yet")
    cli.fails(4, "claim", "findings", _claim(work, pol, "paid"), "--findings", "x",
              expect="it is paid")


def test_approve_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(2, "claim", "approve", code, "--amount", "-5", expect="--amount")
    cli.fails(2, "claim", "approve", code, "--amount", "1.005", expect="--amount")
    cli.fails(4, "claim", "approve", code, "--amount", "500000.01",
              expect="cannot approve 500000.01 on claim CL-000001: above the sum insured of "
                     "policy P-000001 (500000.00)")
    cli.fails(4, "claim", "approve", _claim(work, pol, "awaiting_documents"), "--amount", "100",
              expect="it is awaiting documents")


def test_reject_bad_input(cli, work, pol):
    code = _claim(work, pol, "investigating")
    cli.fails(2, "claim", "reject", code, "--reason", "  ", expect="--reason")
    cli.fails(4, "claim", "reject", _claim(work, pol, "paid"), "--reason", "x", expect="it is paid")


def test_pay_bad_input(cli, work, pol):
    code = _claim(work, pol, "approved", approved_amount="800.00")
    cli.fails(2, "claim", "pay", code, "--method", "bitcoin", expect="--method")
    cli.fails(2, "claim", "pay", code, "--method", "cash", "--amount", "lots", expect="--amount")
    cli.fails(4, "claim", "pay", code, "--method", "cash", "--amount", "799.99",
              expect="not the approved amount")
    cli.fails(4, "claim", "pay", _claim(work, pol, "rejected"), "--method", "cash",
              expect="it is rejected; allowed steps: close")


def test_close_bad_input(cli, work, pol):
    cli.fails(2, "claim", "close", _claim(work, pol, "investigating"),
              expect="--reason: is required to withdraw")
    cli.fails(4, "claim", "close", _claim(work, pol, "approved", approved_amount="1.00"),
              "--reason", "x", expect="it is approved; allowed steps: pay")


def test_reopen_bad_input(cli, work, pol):
    cli.fails(2, "claim", "reopen", _claim(work, pol, "closed"), expect="--reason")
    cli.fails(4, "claim", "reopen", _claim(work, pol, "paid"), "--reason", "x",
              expect="it is paid; allowed steps: close")


def test_list_and_show_bad_input(cli, pol):
    cli.fails(3, "claim", "list", "--policy", "P-000404", expect="no policy")
    cli.fails(3, "claim", "list", "--handler", "ghost", expect="ghost")
    cli.fails(2, "claim", "list", "--status", "lost", expect="--status")
    cli.fails(2, "claim", "show", "CL-000001", "--format", "xml", expect="--format")
