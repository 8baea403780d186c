"""Underwriting on a fresh store: the L4 decisions, the T4 queue and its info-requested pause."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import CreditRating, RiskLevel
from insurtrack.errors import BadInput, IllegalTransition, NotFound
from insurtrack.services import customers
from insurtrack.services import underwriting as uw
from tests import factories

D = Decimal


@pytest.fixture
def submitted(work):
    with work("sally") as w:
        return factories.application(w, factories.customer(w), status="submitted")


def events(work, code):
    with work() as w:
        return [(e.type, e.payload) for e in w.session.execute(
            select(m.Event).where(m.Event.subject == code).order_by(m.Event.id)).scalars()]


def test_l4_accept_with_conditions_and_rate_loading(work, submitted, clock, staff):
    clock.advance(days=2)
    with work("uma") as w:
        a = uw.accept(w, submitted.code, conditions="excludes back injuries", loading=D("25.5"))
        assert (a.status, a.decision, a.conditions, a.rate_loading) == (
            "accepted", "accept", "excludes back injuries", D("25.5"))
        assert (a.decided_at, a.decided_by_id) == (clock.now(), staff["uma"].id)
    assert events(work, submitted.code) == [
        ("application.accepted", {"conditions": "excludes back injuries", "rate_loading": "25.5"})]


def test_l4_plain_accept_and_zero_loading_refused(work, submitted):
    with work("uma") as w, pytest.raises(BadInput, match="--loading '0': must be more than zero"):
        uw.accept(w, submitted.code, loading=D("0"))
    with work("uma") as w:
        a = uw.accept(w, submitted.code)
        assert (a.conditions, a.rate_loading) == (None, None)
    assert events(work, submitted.code) == [("application.accepted", {})]


def test_l4_decline_with_reason_and_advice(work, submitted, staff):
    with work("ulf") as w:
        a = uw.decline(w, submitted.code, reason="undisclosed heart condition",
                       advice="apply for accident cover instead")
        assert (a.status, a.decision, a.decided_by_id) == ("declined", "decline", staff["ulf"].id)
        assert (a.decline_reason, a.decline_advice) == ("undisclosed heart condition",
                                                        "apply for accident cover instead")
    assert events(work, submitted.code)[0][0] == "application.declined"


def test_t4_request_info_then_info_received(work, submitted, clock):
    with work("uma") as w:
        a = uw.request_info(w, submitted.code, what="hospital records 2024")
        assert (a.status, a.info_requested) == ("info_requested", "hospital records 2024")
    clock.advance(days=5)
    with work("sally") as w:
        a = uw.info_received(w, submitted.code, note="brought in by the customer")
        assert (a.status, a.info_requested) == ("submitted", None)
    assert events(work, submitted.code) == [
        ("application.info_requested", {"what": "hospital records 2024"}),
        ("application.info_received", {"what": "hospital records 2024",
                                       "note": "brought in by the customer"})]


def test_l4_decisions_not_before_submission(work, submitted, clock):
    early = submitted.submitted_at - timedelta(minutes=1)
    for call in (lambda w: uw.accept(w, submitted.code, at=early),
                 lambda w: uw.decline(w, submitted.code, reason="r", advice="a", at=early),
                 lambda w: uw.request_info(w, submitted.code, what="x", at=early)):
        with work("uma") as w, pytest.raises(BadInput, match="before the previous step"):
            call(w)


def test_l4_deciding_a_withdrawn_application_is_refused(work):
    with work("sally") as w:
        a = factories.application(w, factories.customer(w), status="withdrawn")
    with work("uma") as w, pytest.raises(IllegalTransition,
                                         match="cannot accept application A-000001: it is "
                                               "withdrawn; allowed steps: none"):
        uw.accept(w, a.code)
    with work("uma") as w, pytest.raises(NotFound, match="A-000404"):
        uw.decline(w, "A-000404", reason="r", advice="a")


def test_t4_queue_oldest_submission_first_with_credit_risk_and_what_is_owed(work, clock):
    with work("sally") as w:
        li = factories.customer(w, name="Li Na")
        customers.rate(w, li.code, rating=CreditRating.C, risk=RiskLevel.HIGH, reason="late payer")
        factories.application(w, li, status="draft")
        first = factories.application(w, li, status="submitted",
                                      lines=(("term-life", "500000.00", "1200.00"),
                                             ("accident", "100000.00", "99.90")))
        factories.application(w, li, status="accepted")
    clock.advance(days=2)
    with work("sally") as w:
        second = factories.application(w, factories.customer(w, name="Wang"), status="submitted")
    with work("uma") as w:
        uw.request_info(w, second.code, what="x-ray")
    clock.advance(days=1, hours=1)
    with work("uma") as w:
        rows = uw.queue(w)
    assert [r["code"] for r in rows] == [first.code, second.code]
    assert rows[0] == {"code": first.code, "customer": "C-000001", "credit": "C", "risk": "high",
                       "status": "submitted", "submitted_at": first.submitted_at,
                       "waiting_days": 3, "sum_insured": D("600000.00"), "premium": D("1299.90"),
                       "owed": None}
    assert (rows[1]["status"], rows[1]["owed"], rows[1]["waiting_days"]) == (
        "info_requested", "x-ray", 1)
