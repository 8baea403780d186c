"""One customer from a needs conversation to a paid and revisited claim, through the CLI alone
(L1–L7, T1–T13 as records). The clock is pinned and moved forward the way days pass in an office."""

from decimal import Decimal


def test_from_first_conversation_to_a_paid_and_revisited_claim(cli):
    clock = cli.clock  # Monday 2026-03-02 09:00, Shanghai

    # T1, L1: sales opens the profile after the first conversation and records the needs.
    cli.ok("customer", "add", "Li Na", "--phone", "13800000001", "--id-number",
           "11010519491231002X", "--born", "1985-06-15", "--region", "Shanghai",
           "--source", "referral", "--at", "30m ago", as_="sally")
    cli.ok("customer", "needs", "C-000001", "--needs", "protect the family income",
           "--risk-situation", "sole earner, two children", "--recommend",
           "term-life 500k and accident 100k", as_="sally")
    cli.ok("customer", "rate", "C-000001", "--credit", "A", "--risk", "low", "--reason",
           "salaried, no arrears", as_="sally")

    # L2, T2: a plan of two lines, paid quarterly for a year, promised for Thursday.
    cli.ok("apply", "new", "C-000001", "--line", "term-life:500000:1200", "--line",
           "accident:100000:300", "--frequency", "quarterly", "--term", "1y",
           "--promised", "2026-03-05", as_="sally")
    clock.advance(days=1)
    cli.ok("apply", "deliver", "A-000001", as_="sally")

    # L3: documents, first review (incomplete, then complete), submission.
    cli.ok("apply", "receive", "A-000001", "signed application form", "proof of identity",
           as_="sally")
    cli.ok("apply", "review", "A-000001", "--missing", "bank account authorisation", as_="sally")
    cli.fails(4, "apply", "submit", "A-000001", as_="sally", expect="incomplete")
    cli.ok("apply", "receive", "A-000001", "bank account authorisation", as_="sally")
    cli.ok("apply", "review", "A-000001", "--complete", as_="sally")
    cli.ok("apply", "submit", "A-000001", as_="sally")
    assert [r["code"] for r in cli.json("underwrite", "queue", as_="uma")] == ["A-000001"]

    # L4, T4: underwriting asks for a medical report, gets it, accepts with a 10% loading.
    clock.advance(hours=3)
    cli.ok("underwrite", "request-info", "A-000001", "--what", "recent medical report", as_="uma")
    clock.advance(days=1)
    cli.ok("underwrite", "info-received", "A-000001", as_="uma")
    cli.ok("underwrite", "accept", "A-000001", "--loading", "10", "--conditions",
           "no cover for pre-existing back pain", as_="uma")

    # L5: issued from the accepted application; in force once the first premium is paid.
    cli.ok("policy", "issue", "A-000001", "--effective", "2026-03-10", as_="uma")
    policy = cli.json("policy", "show", "P-000001")
    assert policy["status"] == "issued"
    assert Decimal(policy["premium"]) == Decimal("1650.00")  # (1200 + 300) x 1.10
    assert [(i["due_date"], i["amount"]) for i in policy["schedule"]] == [
        ("2026-03-10", "412.50"), ("2026-06-10", "412.50"), ("2026-09-10", "412.50"),
        ("2026-12-10", "412.50")]
    clock.advance(days=4)
    cli.ok("policy", "pay", "P-000001", "--amount", "412.50", "--method", "bank_transfer",
           "--reference", "TX-1", as_="sam")
    assert cli.json("policy", "show", "P-000001")["status"] == "in_force"

    # T5: customer service makes first contact.
    clock.advance(days=2)
    cli.ok("revisit", "log", "C-000001", "--kind", "first_contact", "--policy", "P-000001",
           "--channel", "phone", "--satisfaction", "5", as_="sam")

    # L6, T7: the second installment is reminded and paid.
    clock.advance(days=80)  # Friday 2026-05-29
    upcoming = cli.json("renew", "upcoming", "--days", "14", as_="sam")
    assert [(u["kind"], u["policy"], u["due_date"]) for u in upcoming] == [
        ("installment", "P-000001", "2026-06-10")]
    cli.ok("renew", "remind", "P-000001", "--channel", "sms", "--result", "promised_to_pay", as_="sam")
    cli.ok("renew", "pay", "P-000001", "--amount", "412.50", "--method", "wechat_pay", as_="sam")

    # L7, T9–T12: an accident phoned in 20 minutes ago, handled to payment.
    clock.advance(days=10)
    cli.ok("claim", "report", "P-000001", "--incident-at", "2026-06-07 18:30", "--place",
           "Century Avenue metro station", "--circumstances", "fell on the stairs, broken wrist",
           "--amount", "8000", "--product", "accident", "--reporter", "Li Na",
           "--reporter-phone", "13800000001", "--at", "20m ago", as_="carl")
    cli.ok("claim", "contact", "CL-000001", "--note", "explained the documents needed", as_="carl")
    cli.ok("claim", "assess", "CL-000001", "--simple", "--plan", "check hospital records", as_="carl")
    cli.ok("claim", "request-docs", "CL-000001", "--doc", "hospital invoice", "--doc",
           "x-ray report", as_="carl")
    cli.fails(4, "claim", "approve", "CL-000001", "--amount", "7500", as_="carl",
              expect="awaiting documents")
    clock.advance(days=2)
    cli.ok("claim", "docs-received", "CL-000001", as_="carl")
    cli.fails(4, "claim", "approve", "CL-000001", "--amount", "100000.01", as_="cora",
              expect="100000.00")  # never above the sum insured of the accident line
    cli.ok("claim", "approve", "CL-000001", "--amount", "7500", as_="cora")
    clock.advance(days=1)
    cli.ok("claim", "pay", "CL-000001", "--method", "bank_transfer", "--reference", "CLM-77",
           as_="cora")
    cli.ok("claim", "close", "CL-000001", as_="cora")

    # T13: the post-claim revisit, and a question answered on the spot (T8).
    clock.advance(days=3)
    cli.ok("revisit", "log", "C-000001", "--kind", "post_claim", "--claim", "CL-000001",
           "--channel", "phone", "--satisfaction", "4", "--notes", "happy with the speed",
           as_="sam")
    cli.ok("revisit", "feedback", "open", "C-000001", "--kind", "question", "--summary",
           "when is the next premium due?", "--resolved", "10 September, 412.50", as_="sam")

    claim = cli.json("claim", "show", "CL-000001")
    assert claim["status"] == "closed" and claim["paid"] == "7500.00"

    story = cli.json("customer", "show", "C-000001")
    events = [e["event"] for e in story["timeline"]]
    for expected in ["customer.added", "customer.needs", "customer.rated", "application.created",
                     "application.plan_delivered", "application.reviewed", "application.submitted",
                     "application.info_requested", "application.info_received",
                     "application.accepted", "application.issued", "policy.issued",
                     "premium.paid", "policy.in_force", "revisit.first_contact",
                     "premium.reminded", "claim.reported", "claim.contacted", "claim.assessed",
                     "claim.docs_requested", "claim.docs_received", "claim.approved",
                     "claim.paid", "claim.closed", "revisit.post_claim", "feedback.opened",
                     "feedback.resolved"]:
        assert expected in events, expected
    times = [e["occurred_at"] for e in story["timeline"]]
    assert times == sorted(times), "the timeline is in business-time order"
    assert story["timeline"][0]["occurred_at"] == "2026-03-02T08:30:00+08:00"
    actors = {e["event"]: e["by"] for e in story["timeline"]}
    assert actors["application.accepted"] == "uma" and actors["claim.paid"] == "cora"
    assert [c["code"] for c in story["claims"]] == ["CL-000001"]
    assert [p["status"] for p in story["policies"]] == ["in_force"]
