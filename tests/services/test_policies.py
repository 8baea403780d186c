"""Policies through the services (L5, L6; PRC Insurance Law arts. 36-37): issuance, payments
allocated to the schedule, cancellation, suspension, reinstatement and expiry."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import re

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import PaymentMethod
from insurtrack.errors import BadInput, IllegalTransition, NotFound, Refused
from insurtrack.services import policies as svc
from tests import factories

CASH = PaymentMethod.CASH


@pytest.fixture
def cust(work):
    with work("sally") as w:
        return factories.customer(w)


def _app(work, cust, status="accepted", **kw):
    with work("uma") as w:
        return factories.application(w, cust, status=status, **kw).code


def _policy(work, cust, status="in_force", **kw):
    with work("sally") as w:
        return factories.policy(w, cust, status=status, **kw).code


def illegal(kind, code, action, status, allowed=None):
    """The IllegalTransition message of `action` from `status` (a regex)."""
    text = f"cannot {action} {kind} {code}: it is {status.replace('_', ' ')}"
    return re.escape(text + ("" if allowed is None else f"; allowed steps: {allowed}"))


def _events(work, code):
    with work() as w:
        return [(e.type, e.payload) for e in w.session.execute(
            select(m.Event).where(m.Event.subject == code).order_by(m.Event.id)).scalars()]


def _plan(work, code):
    with work() as w:
        return [(i.seq, i.status, i.paid_amount) for i in svc.installments(w, svc.get(w, code))]


def _status(work, code):
    with work() as w:
        return svc.get(w, code).status


def _set(work, code, **fields):
    with work() as w:
        p = svc.get(w, code)
        for k, v in fields.items():
            setattr(p, k, v)


# ------------------------------------------------------------------ issue (L5)

def test_issue_L5_policy_with_loading_lines_and_monthly_schedule(work, cust, staff):
    app = _app(work, cust, frequency="monthly", rate_loading=D("10"), conditions="no skiing",
               lines=(("term-life", "500000.00", "1000.00"), ("accident", "100000.00", "200.00")))
    with work("uma") as w:
        p = svc.issue(w, app.lower())
        plan = svc.installments(w, p)
        assert w.session.execute(select(m.Application.status)
                                 .where(m.Application.code == app)).scalar() == "issued"
        lines = [(x.product, x.sum_insured, x.premium) for x in w.session.execute(
            select(m.PolicyLine).where(m.PolicyLine.policy_id == p.id).order_by(m.PolicyLine.id)).scalars()]
    assert (p.code, p.status, p.frequency, p.term_months) == ("P-000001", "issued", "monthly", 12)
    assert (p.effective_date, p.expiry_date) == (date(2026, 3, 2), date(2027, 3, 1))
    assert (p.sum_insured, p.premium, p.rate_loading) == (D("600000.00"), D("1320.00"), D("10.00"))
    assert p.conditions == "no skiing" and p.owner_id == staff["uma"].id
    assert lines == [("term-life", D("500000.00"), D("1000.00")), ("accident", D("100000.00"), D("200.00"))]
    assert [(i.seq, i.due_date, i.amount, i.status) for i in plan[:2]] == [
        (1, date(2026, 3, 2), D("110.00"), "due"), (2, date(2026, 4, 2), D("110.00"), "due")]
    assert len(plan) == 12 and sum(i.amount for i in plan) == D("1320.00")
    assert _events(work, app) == [("application.issued", {"policy": "P-000001"})]
    assert _events(work, "P-000001") == [("policy.issued", {
        "application": app, "effective": "2026-03-02", "expiry": "2027-03-01", "premium": "1320.00",
        "installments": 12})]


def test_issue_loading_rounds_to_cents(work, cust):
    app = _app(work, cust, rate_loading=D("12.5"), lines=(("term-life", "500000.00", "999.99"),))
    with work("uma") as w:
        assert svc.issue(w, app).premium == D("1124.99")  # 1124.98875


def test_issue_on_a_chosen_effective_date_month_end(work, cust):
    app = _app(work, cust, frequency="monthly")
    with work("uma") as w:
        p = svc.issue(w, app, effective=date(2026, 1, 31))
        dues = [i.due_date for i in svc.installments(w, p)]
    assert p.expiry_date == date(2027, 1, 30)
    assert dues[:3] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


def test_issue_single_premium(work, cust):
    app = _app(work, cust, frequency="single", term_months=120,
               lines=(("endowment", "100000.00", "50000.00"),))
    with work("uma") as w:
        p = svc.issue(w, app)
        plan = svc.installments(w, p)
    assert [(i.seq, i.amount) for i in plan] == [(1, D("50000.00"))]
    assert p.expiry_date == date(2036, 3, 1)


@pytest.mark.parametrize("status,allowed", [
    ("declined", "none (final state)"), ("withdrawn", "none (final state)"),
    ("submitted", "accept, decline, request_info, withdraw"), ("issued", "none (final state)")])
def test_issue_only_from_an_accepted_application(work, cust, status, allowed):
    app = _app(work, cust, status=status)
    with pytest.raises(IllegalTransition, match=illegal("application", app, "issue", status, allowed)), \
            work("uma") as w:
        svc.issue(w, app)


def test_issue_twice_is_refused(work, cust):
    app = _app(work, cust)
    with work("uma") as w:
        svc.issue(w, app)
    with pytest.raises(IllegalTransition, match="it is issued"), work("uma") as w:
        svc.issue(w, app)


def test_issue_unknown_application(work):
    with pytest.raises(NotFound, match="no application 'A-000099'"), work("uma") as w:
        svc.issue(w, "a-000099")


def test_issue_at_is_never_future_nor_before_the_application(work, cust, clock):
    app = _app(work, cust)
    with pytest.raises(BadInput, match="--at.*future"), work("uma") as w:
        svc.issue(w, app, at=clock.now() + timedelta(hours=1))
    with pytest.raises(BadInput, match="--at.*before the previous step of application"), work("uma") as w:
        svc.issue(w, app, at=clock.now() - timedelta(days=1))
    clock.advance(days=2)
    with work("uma") as w:
        p = svc.issue(w, app, at=clock.now() - timedelta(days=1))
    assert p.effective_date == date(2026, 3, 3)  # the day of the issue step


# ------------------------------------------------------------------ pay (L5, L6)

def _issued(work, cust, **kw):
    app = _app(work, cust, **kw)
    with work("uma") as w:
        return svc.issue(w, app).code


def test_first_payment_L5_puts_the_policy_in_force(work, cust, clock):
    code = _issued(work, cust, frequency="quarterly")  # 4 x 300.00
    with work("sam") as w:
        p, touched = svc.pay(w, code, amount=D("100.00"), method=CASH, reference="R-1")
    assert p.status == "in_force" and p.in_force_at == clock.now()
    assert [i.seq for i in touched] == [1]
    assert _plan(work, code)[:2] == [(1, "partially_paid", D("100.00")), (2, "due", D("0.00"))]
    assert _events(work, code)[1:] == [
        ("premium.paid", {"amount": "100.00", "method": "cash", "installments": [1], "reference": "R-1"}),
        ("policy.in_force", {"effective_date": "2026-03-02"})]
    with work("sam") as w:
        p, touched = svc.pay(w, code, amount=D("500.00"), method=PaymentMethod.ALIPAY)
        payments = [(x.installment_id, x.amount, x.method) for x in w.session.execute(
            select(m.Payment).order_by(m.Payment.id)).scalars()]
        ids = {i.seq: i.id for i in svc.installments(w, p)}
        assert svc.outstanding(w, p) == D("600.00")
    assert p.status == "in_force" and [i.seq for i in touched] == [1, 2]
    assert _plan(work, code)[:3] == [(1, "paid", D("300.00")), (2, "paid", D("300.00")),
                                     (3, "due", D("0.00"))]
    assert payments == [(ids[1], D("100.00"), "cash"), (ids[1], D("200.00"), "alipay"),
                        (ids[2], D("300.00"), "alipay")]
    assert [t for t, _ in _events(work, code)].count("policy.in_force") == 1


def test_pay_full_installment_directly_and_paid_at(work, cust, clock):
    code = _issued(work, cust)  # annual 1200.00
    clock.advance(hours=1)
    with work("sam") as w:
        svc.pay(w, code, amount=D("1200.00"), method=CASH, at=clock.now() - timedelta(minutes=5))
        [inst] = svc.installments(w, svc.get(w, code))
    assert (inst.status, inst.paid_amount, inst.paid_at) == ("paid", D("1200.00"), clock.now() - timedelta(minutes=5))


def test_pay_above_outstanding_is_refused_naming_the_total(work, cust):
    code = _issued(work, cust)
    with pytest.raises(Refused, match="cannot take 1200.01 on policy P-000001: only 1200.00 is outstanding"), \
            work("sam") as w:
        svc.pay(w, code, amount=D("1200.01"), method=CASH)
    with work("sam") as w:
        svc.pay(w, code, amount=D("1200.00"), method=CASH)
    with pytest.raises(Refused, match="only 0.00 is outstanding"), work("sam") as w:
        svc.pay(w, code, amount=D("0.01"), method=CASH)
    assert _plan(work, code) == [(1, "paid", D("1200.00"))]


def test_pay_zero_is_bad_input(work, cust):
    code = _issued(work, cust)
    with pytest.raises(BadInput, match="--amount"), work("sam") as w:
        svc.pay(w, code, amount=D("0.00"), method=CASH)


@pytest.mark.parametrize("status,allowed", [("cancelled", "none (final state)"), ("expired", "renew")])
def test_pay_refused_on_cancelled_or_expired_policy(work, cust, status, allowed):
    code = _policy(work, cust, status=status)
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "pay", status, allowed)), \
            work("sam") as w:
        svc.pay(w, code, amount=D("10.00"), method=CASH)


def test_pay_on_suspended_policy_keeps_it_suspended(work, cust):
    code = _policy(work, cust, status="suspended", frequency="monthly", paid_installments=0)
    with work("sam") as w:
        p, _ = svc.pay(w, code, amount=D("100.00"), method=CASH)
    assert p.status == "suspended"
    assert [t for t, _ in _events(work, code)] == ["premium.paid"]


def test_pay_unknown_policy(work):
    with pytest.raises(NotFound, match="no policy 'P-000404'"), work("sam") as w:
        svc.pay(w, "P-000404", amount=D("1.00"), method=CASH)


# ------------------------------------------------------------------ cancel

@pytest.mark.parametrize("status", ["issued", "in_force", "suspended"])
def test_cancel_drops_open_installments_keeps_paid_ones(work, cust, status):
    code = _policy(work, cust, status=status, frequency="quarterly", paid_installments=1)
    with work("sam") as w:
        p = svc.get(w, code)
        svc.installments(w, p)[1].paid_amount = D("10.00")
        svc.installments(w, p)[1].status = "partially_paid"
    with work("sam") as w:
        p = svc.cancel(w, code, reason="customer moved abroad")
    assert (p.status, p.cancel_reason) == ("cancelled", "customer moved abroad")
    assert [s for _, s, _ in _plan(work, code)] == ["paid", "cancelled", "cancelled", "cancelled"]
    assert _events(work, code) == [("policy.cancelled", {"reason": "customer moved abroad",
                                                         "installments_cancelled": [2, 3, 4]})]


@pytest.mark.parametrize("status,allowed", [("cancelled", "none (final state)"), ("expired", "renew")])
def test_cancel_refused_from_final_states(work, cust, status, allowed):
    code = _policy(work, cust, status=status)
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "cancel", status, allowed)), \
            work() as w:
        svc.cancel(w, code, reason="x")


def test_services_never_move_paid_or_cancelled_installments(work, cust):
    """The installment machine: paid and cancelled are final; payments skip them."""
    code = _policy(work, cust, frequency="semi-annual", paid_installments=1)  # 2 x 600.00
    with work("sam") as w:
        _, touched = svc.pay(w, code, amount=D("600.00"), method=CASH)
    assert [i.seq for i in touched] == [2]
    with work("sam") as w:
        svc.cancel(w, code, reason="done")
    assert [s for _, s, _ in _plan(work, code)] == ["paid", "paid"]


# ------------------------------------------------------------------ suspend (art. 36)

@pytest.fixture
def overdue(work, cust):
    """Monthly 100.00 from 2025-12-01; installment 1 paid, installment 2 due 2026-01-01: on
    2026-03-02 (the test clock) it is exactly 60 days unpaid."""
    return _policy(work, cust, frequency="monthly", effective=date(2025, 12, 1), paid_installments=1)


def test_suspend_art36_refused_at_exactly_grace_days(work, overdue):
    with pytest.raises(Refused, match=r"cannot suspend policy P-000001 on 2026-03-02: installment 2 "
                                      r"\(due 2026-01-01\) is in its 60-day grace period until "
                                      r"2026-03-02 \(PRC Insurance Law art. 36\)"), work("sam") as w:
        svc.suspend(w, overdue)


def test_suspend_art36_allowed_the_day_after_the_grace_period(work, overdue, clock):
    clock.advance(days=1)
    with work("sam") as w:
        p = svc.suspend(w, overdue)
    assert (p.status, p.suspended_at) == ("suspended", clock.now())
    assert _events(work, overdue) == [("policy.suspended", {
        "installment": 2, "due_date": "2026-01-01", "days_overdue": 61, "outstanding": "1100.00"})]


def test_suspend_uses_the_day_of_at(work, overdue, clock):
    clock.advance(days=2)
    with pytest.raises(Refused, match="on 2026-03-02"), work("sam") as w:
        svc.suspend(w, overdue, at=clock.now() - timedelta(days=2))


def test_suspend_refused_when_nothing_is_overdue(work, cust):
    code = _policy(work, cust, frequency="monthly", effective=date(2026, 3, 2), paid_installments=1)
    with pytest.raises(Refused, match="no installment is overdue"), work("sam") as w:
        svc.suspend(w, code)


@pytest.mark.parametrize("status,allowed", [
    ("issued", "cancel, pay, remind"), ("suspended", "cancel, pay, reinstate, remind"),
    ("expired", "renew"), ("cancelled", "none (final state)")])
def test_suspend_only_from_in_force(work, cust, status, allowed):
    code = _policy(work, cust, status=status)
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "suspend", status, allowed)), \
            work("sam") as w:
        svc.suspend(w, code)


# ------------------------------------------------------------------ reinstate (art. 37)

def _suspended(work, cust, clock, days_ago, paid):
    code = _policy(work, cust, status="suspended", frequency="monthly", effective=date(2025, 12, 1),
                   paid_installments=paid)
    _set(work, code, suspended_at=clock.now() - timedelta(days=days_ago))
    return code


def test_reinstate_art37_refused_while_anything_due_is_unpaid(work, cust, clock):
    code = _suspended(work, cust, clock, 10, paid=1)
    with pytest.raises(Refused, match=r"cannot reinstate policy P-000001: installment\(s\) 2, 3, 4 "
                                      r"due by 2026-03-02 still owe 300.00"), work("sam") as w:
        svc.reinstate(w, code)
    with work("sam") as w:
        svc.pay(w, code, amount=D("300.00"), method=CASH)
    with work("sam") as w:
        p = svc.reinstate(w, code)
    assert p.status == "in_force"
    assert _events(work, code)[-1] == ("policy.reinstated", {"suspended_on": "2026-02-20",
                                                             "days_suspended": 10})


@pytest.mark.parametrize("days_ago,ok", [(730, True), (731, False)])
def test_reinstate_art37_within_730_days_of_suspension(work, cust, clock, days_ago, ok):
    code = _suspended(work, cust, clock, days_ago, paid=4)
    if ok:
        with work("sam") as w:
            assert svc.reinstate(w, code).status == "in_force"
    else:
        with pytest.raises(Refused, match="more than 730 days ago"), work("sam") as w:
            svc.reinstate(w, code)


@pytest.mark.parametrize("status", ["issued", "in_force", "expired", "cancelled"])
def test_reinstate_only_from_suspended(work, cust, status):
    code = _policy(work, cust, status=status)
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "reinstate", status)), \
            work("sam") as w:
        svc.reinstate(w, code)


# ------------------------------------------------------------------ expire

@pytest.mark.parametrize("effective,ok", [(date(2025, 3, 2), True), (date(2025, 3, 3), False)])
def test_expire_only_after_the_last_day_of_cover(work, cust, clock, effective, ok):
    code = _policy(work, cust, effective=effective)
    if ok:
        with work("sam") as w:
            p = svc.expire(w, code)
        assert (p.status, p.expired_at) == ("expired", clock.now())
        assert _events(work, code) == [("policy.expired", {"expiry_date": "2026-03-01"})]
    else:
        with pytest.raises(Refused, match="covers until 2026-03-02 .it may expire from 2026-03-03"), \
                work("sam") as w:
            svc.expire(w, code)


@pytest.mark.parametrize("status", ["issued", "suspended", "expired", "cancelled"])
def test_expire_only_from_in_force(work, cust, status):
    code = _policy(work, cust, status=status, effective=date(2024, 1, 1))
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "expire", status)), \
            work("sam") as w:
        svc.expire(w, code)


def test_steps_cannot_be_backdated_before_the_previous_step(work, cust, clock):
    code = _issued(work, cust)
    clock.advance(hours=2)
    with work("sam") as w:
        svc.pay(w, code, amount=D("10.00"), method=CASH, at=clock.now() - timedelta(hours=1))
    with pytest.raises(BadInput, match="before the previous step of policy P-000001"), work("sam") as w:
        svc.cancel(w, code, reason="x", at=clock.now() - timedelta(hours=1, minutes=30))


# ------------------------------------------------------------------ list and show

def test_listing_filters(work, cust, staff):
    with work("sid") as w:
        other = factories.customer(w, name="Zhang Wei", owner="sid")
    a = _policy(work, cust, effective=date(2025, 4, 1))           # expires 2026-03-31
    b = _policy(work, cust, status="issued", effective=date(2026, 3, 2))
    c = _policy(work, other, status="cancelled", effective=date(2025, 4, 1))
    with work() as w:
        assert [r["code"] for r in svc.listing(w)] == [a, b, c]
        assert [r["code"] for r in svc.listing(w, status="issued")] == [b]
        assert [r["code"] for r in svc.listing(w, customer=cust.code.lower())] == [a, b]
        assert [r["code"] for r in svc.listing(w, owner="sid")] == [c]
        assert [r["code"] for r in svc.listing(w, expiring_within=30)] == [a]
        assert svc.listing(w, expiring_within=28) == []
        assert len(svc.listing(w, limit=2)) == 2
        row = svc.listing(w, status="issued")[0]
    assert row == {"code": b, "status": "issued", "customer": cust.code, "name": "Li Na",
                   "owner": "sally", "frequency": "annual", "effective": date(2026, 3, 2),
                   "expiry": date(2027, 3, 1), "sum_insured": D("500000.00"), "premium": D("1200.00")}
    for bad, kw in (("customer", {"customer": "C-000099"}), ("staff member", {"owner": "nobody"})):
        with pytest.raises(NotFound, match=bad), work() as w:
            svc.listing(w, **kw)


def test_show_schedule_days_overdue_payments_and_timeline(work, overdue):
    with work("sam") as w:
        svc.pay(w, overdue, amount=D("150.00"), method=CASH, reference="B-7")
    with work() as w:
        record, sections = svc.show(w, overdue)
    assert record["code"] == overdue and record["outstanding"] == D("950.00")
    assert sections["lines"] == [{"product": "term-life", "sum_insured": D("500000.00"),
                                  "premium": D("1200.00")}]
    assert sections["schedule"][:4] == [
        {"seq": 1, "due_date": date(2025, 12, 1), "amount": D("100.00"), "paid": D("100.00"),
         "status": "paid", "days_overdue": None},
        {"seq": 2, "due_date": date(2026, 1, 1), "amount": D("100.00"), "paid": D("100.00"),
         "status": "paid", "days_overdue": None},
        {"seq": 3, "due_date": date(2026, 2, 1), "amount": D("100.00"), "paid": D("50.00"),
         "status": "partially_paid", "days_overdue": 29},
        {"seq": 4, "due_date": date(2026, 3, 1), "amount": D("100.00"), "paid": D("0.00"),
         "status": "due", "days_overdue": 1}]
    assert sections["schedule"][4]["days_overdue"] == 0
    assert [(p["installment"], p["amount"], p["by"]) for p in sections["payments"]] == [
        (2, D("100.00"), "sam"), (3, D("50.00"), "sam")]
    assert [t["event"] for t in sections["timeline"]] == ["premium.paid"]
    assert sections["reminders"] == []
