"""Installments and renewals through the services (L6, T7): what is coming up, reminders and
new terms."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import ContactChannel, PaymentMethod, ReminderResult
from insurtrack.errors import BadInput, IllegalTransition, NotFound, Refused
from insurtrack.services import policies, renewals as svc
from tests import factories
from tests.services.test_policies import illegal

PHONE, REACHED = ContactChannel.PHONE, ReminderResult.REACHED


@pytest.fixture
def cust(work):
    with work("sally") as w:
        return factories.customer(w)


def _policy(work, cust, status="in_force", **kw):
    with work("sally") as w:
        return factories.policy(w, cust, status=status, **kw).code


def _events(work, code):
    with work() as w:
        return [(e.type, e.payload) for e in w.session.execute(
            select(m.Event).where(m.Event.subject == code).order_by(m.Event.id)).scalars()]


# ------------------------------------------------------------------ upcoming (T7)

def test_upcoming_T7_installments_due_or_overdue_and_renewals(work, cust, clock):
    monthly = _policy(work, cust, frequency="monthly", effective=date(2025, 12, 1))  # 1 paid
    yearly = _policy(work, cust, effective=date(2025, 4, 1))                       # expires 03-31
    _policy(work, cust, status="cancelled", frequency="monthly", effective=date(2025, 12, 1))
    _policy(work, cust, effective=date(2025, 5, 1))                                # expires 04-30
    with work() as w:
        policies.get(w, monthly).issued_at = clock.now() - timedelta(days=90)
    with work("sam") as w:
        svc.remind(w, monthly, channel=PHONE, result=REACHED, at=clock.now() - timedelta(days=3))
        rows = svc.upcoming(w)
    assert [(r["kind"], r["policy"], r["due_date"], r["amount"], r["days"]) for r in rows] == [
        ("installment", monthly, date(2026, 1, 1), D("100.00"), -60),
        ("installment", monthly, date(2026, 2, 1), D("100.00"), -29),
        ("installment", monthly, date(2026, 3, 1), D("100.00"), -1),
        ("renewal", yearly, date(2026, 3, 31), D("1200.00"), 29),
        ("installment", monthly, date(2026, 4, 1), D("100.00"), 30)]
    assert rows[0] == {"kind": "installment", "policy": monthly, "customer": cust.code,
                       "name": "Li Na", "due_date": date(2026, 1, 1), "amount": D("100.00"),
                       "days": -60, "last_reminder": date(2026, 2, 27), "owner": "sally"}
    assert rows[1]["last_reminder"] is None and rows[3]["last_reminder"] is None
    with work("sam") as w:
        assert len(svc.upcoming(w, days=60)) == 7  # + the installment of 05-01 and renewal 04-30
        assert len(svc.upcoming(w, days=0)) == 3


def test_upcoming_shows_outstanding_part_and_skips_paid(work, cust):
    code = _policy(work, cust, status="issued", frequency="quarterly", effective=date(2026, 3, 2))
    with work("sam") as w:
        policies.pay(w, code, amount=D("100.00"), method=PaymentMethod.CASH)
        assert [(r["kind"], r["amount"]) for r in svc.upcoming(w)] == [("installment", D("200.00"))]
        policies.pay(w, code, amount=D("200.00"), method=PaymentMethod.CASH)
        assert svc.upcoming(w) == []


def test_upcoming_renewal_reminder_date_and_renewed_policies_drop_out(work, cust, clock):
    code = _policy(work, cust, effective=date(2025, 3, 20))  # expires 2026-03-19
    with work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED, renewal=True)
        [row] = svc.upcoming(w)
    assert (row["kind"], row["last_reminder"], row["days"]) == ("renewal", date(2026, 3, 2), 17)
    with work("sam") as w:
        new = svc.term(w, code)
        assert [(r["kind"], r["policy"]) for r in svc.upcoming(w)] == [("installment", new.code)]


def test_upcoming_renewal_of_overdue_expiry_within_the_window(work, cust):
    """An in-force policy past its expiry may still be renewed within the window: it shows
    (negative days) until the window closes."""
    inside = _policy(work, cust, effective=date(2025, 1, 1))   # expired 2025-12-31: 61 days ago
    _policy(work, cust, effective=date(2024, 12, 1))            # 2025-11-30: 92 days ago
    with work("sam") as w:
        assert [(r["policy"], r["days"]) for r in svc.upcoming(w)] == [(inside, -61)]


def test_upcoming_owner_filter(work, cust):
    with work("sid") as w:
        other = factories.customer(w, name="Zhang Wei", owner="sid")
    _policy(work, cust, effective=date(2025, 4, 1))
    mine = _policy(work, other, effective=date(2025, 4, 1))
    with work("sam") as w:
        assert [r["policy"] for r in svc.upcoming(w, owner="sid")] == [mine]
    with pytest.raises(NotFound, match="staff member"), work("sam") as w:
        svc.upcoming(w, owner="nobody")


# ------------------------------------------------------------------ remind (T7)

def test_remind_T7_defaults_to_the_oldest_unpaid_installment(work, cust, clock):
    code = _policy(work, cust, frequency="monthly", effective=date(2025, 12, 1))
    with work("sam") as w:
        r = svc.remind(w, code.lower(), channel=ContactChannel.SMS,
                       result=ReminderResult.PROMISED, note="will pay Friday")
        inst = w.session.get(m.Installment, r.installment_id)
    assert (inst.seq, r.channel, r.result, r.note, r.occurred_at) == (
        2, "sms", "promised_to_pay", "will pay Friday", clock.now())
    assert _events(work, code) == [("premium.reminded", {
        "installment": 2, "channel": "sms", "result": "promised_to_pay", "note": "will pay Friday"})]


def test_remind_a_chosen_installment_or_the_renewal(work, cust, staff):
    code = _policy(work, cust, frequency="monthly", effective=date(2025, 12, 1))
    with work("sam") as w:
        r = svc.remind(w, code, channel=PHONE, result=REACHED, installment=5)
        assert w.session.get(m.Installment, r.installment_id).seq == 5
        r = svc.remind(w, code, channel=ContactChannel.WECHAT, result=ReminderResult.NO_ANSWER,
                       renewal=True)
        assert (r.installment_id, r.actor_id) == (None, staff["sam"].id)
    assert _events(work, code)[-1] == ("renewal.reminded", {
        "renewal": True, "channel": "wechat", "result": "no_answer"})


def test_remind_refusals(work, cust):
    code = _policy(work, cust, frequency="quarterly", paid_installments=4)
    with pytest.raises(Refused, match="no unpaid installment; use --renewal"), work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED)
    with pytest.raises(Refused, match="installment 2 of policy P-000001 is paid"), work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED, installment=2)
    with pytest.raises(BadInput, match="--installment 9: policy P-000001 has installments 1 to 4"), \
            work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED, installment=9)
    with pytest.raises(BadInput, match="choose one"), work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED, installment=1, renewal=True)
    with pytest.raises(NotFound), work("sam") as w:
        svc.remind(w, "P-000404", channel=PHONE, result=REACHED)


@pytest.mark.parametrize("status,allowed", [("cancelled", "none (final state)"), ("expired", "renew")])
def test_remind_refused_on_cancelled_or_expired(work, cust, status, allowed):
    code = _policy(work, cust, status=status, paid_installments=0)
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "remind", status, allowed)), \
            work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED)


@pytest.mark.parametrize("status", ["issued", "suspended"])
def test_remind_allowed_on_issued_and_suspended(work, cust, status):
    code = _policy(work, cust, status=status, paid_installments=0)
    with work("sam") as w:
        svc.remind(w, code, channel=PHONE, result=REACHED)
        assert policies.get(w, code).status == status


# ------------------------------------------------------------------ term (L6)

def test_term_L6_new_term_of_the_same_plan(work, cust, clock):
    code = _policy(work, cust, frequency="quarterly", effective=date(2025, 4, 1), paid_installments=4,
                   lines=(("term-life", "500000.00", "1000.00"), ("accident", "100000.00", "320.00")))
    with work() as w:
        old = policies.get(w, code)
        old.rate_loading, old.conditions = D("10.00"), "no skiing"
    with work("sam") as w:
        new = svc.term(w, code)
        plan = policies.installments(w, new)
        lines = [(x.product, x.sum_insured, x.premium) for x in w.session.execute(
            select(m.PolicyLine).where(m.PolicyLine.policy_id == new.id).order_by(m.PolicyLine.id)).scalars()]
        old = policies.get(w, code)
    assert (new.code, new.status, new.frequency, new.term_months) == ("P-000002", "issued", "quarterly", 12)
    assert (new.effective_date, new.expiry_date) == (date(2026, 4, 1), date(2027, 3, 31))
    assert (new.premium, new.rate_loading, new.conditions) == (D("1320.00"), D("10.00"), "no skiing")
    assert (new.customer_id, new.owner_id, new.renewed_from_id, new.sum_insured) == (
        old.customer_id, old.owner_id, old.id, D("600000.00"))
    assert (new.issued_at, old.status) == (clock.now(), "in_force")
    assert lines == [("term-life", D("500000.00"), D("1000.00")), ("accident", D("100000.00"), D("320.00"))]
    assert [(i.seq, i.due_date, i.amount, i.status) for i in plan] == [
        (1, date(2026, 4, 1), D("330.00"), "due"), (2, date(2026, 7, 1), D("330.00"), "due"),
        (3, date(2026, 10, 1), D("330.00"), "due"), (4, date(2027, 1, 1), D("330.00"), "due")]
    assert _events(work, code) == [("policy.renewed", {"new": "P-000002", "effective": "2026-04-01"})]
    assert _events(work, "P-000002") == [("policy.issued", {
        "renewed_from": code, "effective": "2026-04-01", "expiry": "2027-03-31", "premium": "1320.00",
        "installments": 4})]


def test_term_of_a_29_february_policy_starts_1_march(work, cust, clock):
    code = _policy(work, cust, effective=date(2025, 3, 1))
    with work() as w:  # a policy from 2024-02-29 whose first year ends 2025-02-28, then 2026-02-28
        p = policies.get(w, code)
        p.effective_date, p.expiry_date, p.term_months = date(2024, 2, 29), date(2026, 2, 28), 24
    with work("sam") as w:
        new = svc.term(w, code)
    assert (new.effective_date, new.expiry_date) == (date(2026, 3, 1), date(2028, 2, 29))


def test_term_twice_is_refused(work, cust):
    code = _policy(work, cust, effective=date(2025, 4, 1))
    with work("sam") as w:
        svc.term(w, code)
    with pytest.raises(Refused, match="policy P-000001 is already renewed as P-000002"), work("sam") as w:
        svc.term(w, code)


@pytest.mark.parametrize("effective,status,ok", [
    (date(2025, 6, 1), "in_force", True),    # expires 2026-05-31: 90 days ahead
    (date(2025, 6, 2), "in_force", False),   # expires 2026-06-01: 91 days ahead
    (date(2024, 12, 3), "expired", True),    # expired 2025-12-02: 90 days ago
    (date(2024, 12, 2), "expired", False),   # expired 2025-12-01: 91 days ago
])
def test_term_only_within_the_renewal_window(work, cust, effective, status, ok):
    code = _policy(work, cust, status=status, effective=effective)
    if ok:
        with work("sam") as w:
            assert svc.term(w, code).effective_date == effective + timedelta(days=365)
    else:
        with pytest.raises(Refused, match=f"cannot renew policy {code} on 2026-03-02: it expires"), \
                work("sam") as w:
            svc.term(w, code)


@pytest.mark.parametrize("status,allowed", [
    ("issued", "cancel, pay, remind"), ("suspended", "cancel, pay, reinstate, remind"),
    ("cancelled", "none (final state)")])
def test_term_only_from_in_force_or_expired(work, cust, status, allowed):
    code = _policy(work, cust, status=status, effective=date(2025, 4, 1))
    with pytest.raises(IllegalTransition, match=illegal("policy", code, "renew", status, allowed)), \
            work("sam") as w:
        svc.term(w, code)


def test_term_with_a_chosen_effective_date(work, cust):
    code = _policy(work, cust, effective=date(2025, 4, 1))
    with pytest.raises(BadInput, match="--effective '2026-03-31': overlaps the current term"), \
            work("sam") as w:
        svc.term(w, code, effective=date(2026, 3, 31))
    with work("sam") as w:
        new = svc.term(w, code, effective=date(2026, 4, 15))
    assert (new.effective_date, new.expiry_date) == (date(2026, 4, 15), date(2027, 4, 14))
