"""Checked entries (issue 6.2, D2, K4): `insurtrack verify CODE` by a second person, `verify list`
of what nobody checked, the claim approval threshold and the underwriter who submitted."""

from __future__ import annotations

import pytest

from tests import factories
from tests.cli.test_underwrite_cli import setup, submitted

REPORT = ["--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
          "--circumstances", "fell on the stairs", "--amount", "120000"]


@pytest.fixture
def customer(cli):
    cli.ok("customer", "add", "Li Na", "--phone", "13800000001", as_="sally")
    return "C-000001"


# -- verify CODE ---------------------------------------------------------------------------------

def test_d2_a_second_person_verifies_a_record(cli, customer):
    done = cli.ok("verify", "c-000001", "--note", "ID card checked", as_="sid")
    assert "C-000001: verified by sid" in done.stderr
    timeline = cli.json("customer", "show", customer)["timeline"]
    assert timeline[-1]["event"] == "customer.verified" and timeline[-1]["by"] == "sid"
    assert "entered_by: sally" in timeline[-1]["details"]
    assert cli.json("verify", "list") == []


def test_d2_the_person_who_entered_it_cannot_verify_it(cli, customer):
    cli.fails(5, "verify", customer, as_="sally", expect="sally entered it")
    cli.fails(5, "verify", "--note", "looks fine", customer, as_="sally", expect="sally entered it")


def test_d2_verifying_twice_is_refused(cli, customer):
    cli.ok("verify", customer, as_="sid")
    cli.fails(4, "verify", customer, as_="boss", expect="already verified (by sid on 2026-03-02")


def test_unknown_codes_exit_3(cli, customer):
    cli.fails(3, "verify", "C-000404", as_="sid", expect="C-000404")
    cli.fails(3, "verify", "X-000001", as_="sid", expect="X-000001")
    cli.fails(3, "verify", "CL-000009", as_="sid", expect="no claim 'CL-000009'")


def test_verify_help_and_bad_input(cli, customer):
    assert "verify list" in cli.ok("verify", "--help").stdout
    assert "--part" in cli.ok("verify", "C-000001", "--help").stdout
    cli.fails(2, "verify", customer, "--part", "everything", as_="sid", expect="--part 'everything'")
    cli.fails(2, "verify", customer, "--part", "payment", as_="sid", expect="only a claim")
    cli.fails(2, "verify", "list", "--kind", "dog", expect="--kind 'dog'")
    cli.fails(3, "verify", "list", "--entered-by", "nobody", expect="nobody")
    cli.fails(2, "verify", "list", "--older-than", "-1")


def test_d2_every_kind_of_record_can_be_verified(cli, work):
    with work("sally") as w:
        cust = factories.customer(w)
        factories.application(w, cust)
        pol = factories.policy(w, cust)
    with work("carl") as w:
        factories.claim(w, pol)
    cli.ok("revisit", "log", "C-000001", "--kind", "quarterly", "--channel", "phone",
           "--satisfaction", "4", as_="sam")
    cli.ok("revisit", "feedback", "open", "C-000001", "--kind", "complaint", "--summary", "slow answer",
           as_="sam")
    pending = cli.json("verify", "list")
    assert sorted((r["kind"], r["code"], r["entered_by"]) for r in pending) == [
        ("application", "A-000001", "sally"), ("claim", "CL-000001", "carl"),
        ("customer", "C-000001", "sally"), ("feedback", "F-000001", "sam"),
        ("policy", "P-000001", "sally"), ("revisit", "R-000001", "sam")]
    for code in ("C-000001", "A-000001", "P-000001", "CL-000001", "R-000001", "F-000001"):
        cli.ok("verify", code, as_="boss")
    assert cli.json("verify", "list") == []


# -- a claim's assessment and payment ------------------------------------------------------------

@pytest.fixture
def paid_claim(cli, work):
    """CL-000001 reported and assessed by carl, approved by cora (above the limit), paid by carl."""
    with work("sally") as w:
        factories.policy(w, factories.customer(w))
    cli.ok("claim", "report", "P-000001", *REPORT, "--at", "20m ago", as_="carl")
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    cli.ok("claim", "assess", "CL-000001", "--simple", "--plan", "check the invoice", as_="carl")
    cli.ok("claim", "approve", "CL-000001", "--amount", "100000", as_="cora")
    cli.ok("claim", "pay", "CL-000001", "--method", "bank_transfer", as_="carl")
    return "CL-000001"


def test_d2_a_claims_payment_and_assessment_are_verified_by_another(cli, paid_claim):
    assert [(r["code"], r["entered_by"]) for r in cli.json("verify", "list", "--part", "payment")] \
        == [("CL-000001", "carl")]
    cli.fails(5, "verify", paid_claim, "--part", "payment", as_="carl", expect="carl entered it")
    cli.ok("verify", paid_claim, "--part", "payment", as_="cora")
    cli.fails(4, "verify", paid_claim, "--part", "payment", as_="boss", expect="already verified")
    assert cli.json("verify", "list", "--part", "payment") == []
    cli.fails(5, "verify", paid_claim, "--part", "assessment", as_="carl")
    cli.ok("verify", paid_claim, "--part", "assessment", as_="boss")
    # the claim itself is still to be checked: its parts are separate
    assert [r["code"] for r in cli.json("verify", "list", "--kind", "claim")] == [paid_claim]


def test_a_claim_without_payment_has_no_payment_to_verify(cli, work):
    with work("sally") as w:
        pol = factories.policy(w, factories.customer(w))
    with work("carl") as w:
        factories.claim(w, pol)
    cli.fails(4, "verify", "CL-000001", "--part", "payment", as_="boss", expect="not been paid")
    cli.fails(4, "verify", "CL-000001", "--part", "assessment", as_="boss",
              expect="not been assessed")


# -- verify list ---------------------------------------------------------------------------------

def test_verify_list_filters_by_kind_person_and_age(cli, work, clock):
    with work("sally") as w:
        factories.customer(w, name="Old")
    clock.advance(days=10)
    with work("sid") as w:
        cust = factories.customer(w, name="New", owner="sid")
        factories.application(w, cust)
    rows = cli.json("verify", "list")
    assert [(r["code"], r["entered_by"], r["age_days"]) for r in rows] == [
        ("C-000001", "sally", 10), ("A-000001", "sid", 0), ("C-000002", "sid", 0)]
    assert [r["code"] for r in cli.json("verify", "list", "--kind", "application")] == ["A-000001"]
    assert [r["code"] for r in cli.json("verify", "list", "--entered-by", "sid")] == [
        "A-000001", "C-000002"]
    assert [r["code"] for r in cli.json("verify", "list", "--older-than", "7")] == ["C-000001"]
    assert [r["code"] for r in cli.json("verify", "list", "--limit", "1")] == ["C-000001"]
    csv_out = cli.ok("verify", "list", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "kind,code,part,entered_by,entered_at,age_days"
    assert "Unverified" in cli.ok("verify", "list").stdout


# -- K4: claim approval above the threshold ------------------------------------------------------

@pytest.fixture
def assessed(cli, work):
    with work("sally") as w:
        factories.policy(w, factories.customer(w))
    cli.ok("claim", "report", "P-000001", *REPORT, "--at", "20m ago", as_="carl")
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    cli.ok("claim", "assess", "CL-000001", "--simple", "--plan", "check the invoice", as_="carl")
    return "CL-000001"


def test_k4_a_large_claim_is_not_approved_by_its_assessor(cli, assessed):
    cli.fails(4, "claim", "approve", assessed, "--amount", "50000.01", as_="carl",
              expect="cannot approve 50000.01 on claim CL-000001: it is above "
                     "claims.second_approval_above (50000) and carl assessed the claim")
    cli.ok("claim", "approve", assessed, "--amount", "50000.01", as_="cora")
    cli.ok("claim", "pay", assessed, "--method", "bank_transfer", as_="carl")
    assert cli.json("claim", "show", assessed)["paid"] == "50000.01"


def test_k4_up_to_the_threshold_the_assessor_may_approve(cli, assessed):
    cli.ok("claim", "approve", assessed, "--amount", "50000", as_="carl")


def test_k4_the_threshold_is_configured(cli, assessed, config_file):
    text = config_file.read_text(encoding="utf-8").replace(
        "second_approval_above = 50000", "second_approval_above = 0")
    config_file.write_text(text, encoding="utf-8")
    cli.fails(4, "claim", "approve", assessed, "--amount", "0.01", as_="carl",
              expect="above claims.second_approval_above (0)")
    config_file.write_text(text.replace("second_approval_above = 0",
                                        "second_approval_above = -5"), encoding="utf-8")
    result = cli("claim", "approve", assessed, "--amount", "0.01", as_="cora")
    assert result.exit_code == 6 and "claims.second_approval_above" in result.stderr


def test_k4_a_reopened_claim_reassessed_needs_another_approver_again(cli, assessed):
    cli.ok("claim", "approve", assessed, "--amount", "60000", as_="cora")
    cli.ok("claim", "pay", assessed, "--method", "bank_transfer", as_="carl")
    cli.ok("claim", "close", assessed, as_="carl")
    cli.ok("claim", "reopen", assessed, "--reason", "more costs", as_="carl")
    cli.ok("claim", "assess", assessed, "--complex", "--plan", "second look", as_="cora")
    cli.fails(4, "claim", "approve", assessed, "--amount", "60000", as_="cora",
              expect="cora assessed the claim")
    cli.ok("claim", "approve", assessed, "--amount", "60000", as_="carl")


# -- K4: underwriting ----------------------------------------------------------------------------

def test_k4_an_underwriter_cannot_decide_on_an_application_they_submitted(cli):
    """Under the roles (issue 6 item 1) only sales and managers submit applications, and only
    underwriters and managers decide: a manager who submitted one may not decide on it."""
    setup(cli)
    code = submitted(cli)
    cli.ok("staff", "add", "una", "--name", "Una", "--dept", "underwriting")
    # sally drafts it; boss, a manager, submits it herself
    cli.ok("apply", "new", "C-000002", "--line", "term-life:500000:1200", "--frequency", "annual",
           "--term", "1y", "--promised", "2026-03-09", as_="sally")
    own = "A-000002"
    from tests.cli.test_apply_cli import STANDARD

    cli.ok("apply", "receive", own, *STANDARD, as_="sally")
    cli.ok("apply", "review", own, "--complete", as_="sally")
    cli.ok("apply", "submit", own, as_="boss")
    cli.fails(5, "underwrite", "accept", own, as_="boss",
              expect="boss submitted it; an underwriter cannot decide on an application they "
                     "submitted")
    cli.fails(5, "underwrite", "decline", own, "--reason", "r", "--advice", "a", as_="boss")
    cli.ok("underwrite", "accept", own, as_="uma")
    cli.ok("underwrite", "accept", code, as_="una")  # filed by sally: una may decide
