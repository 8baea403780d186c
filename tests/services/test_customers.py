"""Customers on a fresh store: T1 profile, L1 needs, K2/K3 ratings, D1 formats."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import CreditRating, CustomerKind, RiskLevel
from insurtrack.errors import BadInput, NotFound, NotPermitted, Refused
from insurtrack.services import customers
from tests.conftest import local


def test_t1_add_opens_a_profile_with_an_event(work, clock):
    with work("sally") as w:
        c = customers.add(w, kind=CustomerKind.PERSON, name="Li Na", phone="138 0000 0001",
                          id_number="11010519491231002x", birth_date=date(1985, 6, 15))
    assert c.code == "C-000001" and c.id_number == "11010519491231002X"
    with work() as w:
        ev = w.session.execute(select(m.Event).where(m.Event.type == "customer.added")).scalar_one()
        assert (ev.type, ev.subject, ev.customer_id) == ("customer.added", "C-000001", c.id)
        assert ev.actor_id == w.session.execute(
            select(m.Staff.id).where(m.Staff.code == "sally")).scalar_one()
        assert ev.occurred_at == clock.now() and ev.recorded_at == clock.now()


def test_codes_are_sequential(work):
    with work("sally") as w:
        codes = [customers.add(w, kind=CustomerKind.PERSON, name=f"N{i}").code for i in range(3)]
    assert codes == ["C-000001", "C-000002", "C-000003"]


def test_owner_must_work_in_sales(work):
    with work("sam") as w, pytest.raises(NotPermitted, match=r"sam \(service\) may not add"):
        customers.add(w, kind=CustomerKind.PERSON, name="X")
    with work("boss") as w, pytest.raises(BadInput, match="a customer's owner works in sales"):
        customers.add(w, kind=CustomerKind.PERSON, name="X", owner="carl")
    with work("boss") as w:
        assert customers.add(w, kind=CustomerKind.PERSON, name="X", owner="sid").owner_id


def test_duplicate_id_number_refused(work):
    with work("sally") as w:
        customers.add(w, kind=CustomerKind.COMPANY, name="Acme", id_number="91310000-ABC")
    with work("sally") as w, pytest.raises(Refused, match="C-000001 already has ID number"):
        customers.add(w, kind=CustomerKind.PERSON, name="Other", id_number="91310000-abc")


def test_prc_id_checksum(work):
    with work("sally") as w, pytest.raises(BadInput, match="checksum"):
        customers.add(w, kind=CustomerKind.PERSON, name="X", id_number="110105194912310021")


def test_at_in_the_future_refused(work, clock):
    with work("sally") as w, pytest.raises(BadInput, match="in the future"):
        customers.add(w, kind=CustomerKind.PERSON, name="X", at=clock.now() + timedelta(minutes=1))


def test_l1_needs_and_k3_rating_are_on_the_timeline(work, clock):
    with work("sally") as w:
        c = customers.add(w, kind=CustomerKind.PERSON, name="Li Na", at=local(2026, 3, 1, 10, 0))
        customers.needs(w, c.code, needs="education fund", risk_situation="sole earner",
                        recommended="term-life 1M, 20y")
        customers.rate(w, c.code, rating=CreditRating.C, risk=RiskLevel.HIGH,
                       reason="two bounced premiums elsewhere")
    with work() as w:
        record, sections = customers.show(w, "c-000001")
    assert record["credit"] == "C" and record["risk"] == "high"
    assert [e["event"] for e in sections["timeline"]] == ["customer.added", "customer.needs",
                                                          "customer.rated"]
    assert sections["needs"][0]["recommended"] == "term-life 1M, 20y"


def test_needs_before_the_customer_existed_refused(work):
    with work("sally") as w:
        customers.add(w, kind=CustomerKind.PERSON, name="Li Na")
    with work("sally") as w, pytest.raises(BadInput, match="before the customer was added"):
        customers.needs(w, "C-000001", needs="x", at=local(2026, 3, 1, 9, 0))


def test_rate_needs_something_to_set(work):
    with work("sally") as w:
        customers.add(w, kind=CustomerKind.PERSON, name="Li Na")
    with work("sally") as w, pytest.raises(BadInput):
        customers.rate(w, "C-000001", rating=None, risk=None, reason="x")


def test_edit_records_old_and_new_values(work):
    with work("sally") as w:
        customers.add(w, kind=CustomerKind.PERSON, name="Li Na", region="Shanghai")
    with work("sally") as w:
        customers.edit(w, "C-000001", region="Hangzhou", owner="sid")
    with work() as w:
        ev = w.session.execute(select(m.Event).where(m.Event.type == "customer.edited")).scalar_one()
    assert ev.payload["changes"] == {"region": {"from": "Shanghai", "to": "Hangzhou"},
                                     "owner": {"from": "sally", "to": "sid"}}
    with work("sally") as w, pytest.raises(Refused, match="nothing to change"):
        customers.edit(w, "C-000001", region="Hangzhou")


def test_listing_filters(work):
    with work("sally") as w:
        customers.add(w, kind=CustomerKind.PERSON, name="Wang Fang", phone="13911112222")
        customers.add(w, kind=CustomerKind.COMPANY, name="Acme Trading", owner="sid", region="Suzhou")
        customers.rate(w, "C-000002", rating=None, risk=RiskLevel.HIGH, reason="industry")
    with work() as w:
        assert [r["code"] for r in customers.listing(w, text="wang")] == ["C-000001"]
        assert [r["code"] for r in customers.listing(w, text="1111")] == ["C-000001"]
        assert [r["code"] for r in customers.listing(w, text="c-000002")] == ["C-000002"]
        assert [r["code"] for r in customers.listing(w, owner="sid")] == ["C-000002"]
        assert [r["code"] for r in customers.listing(w, risk=RiskLevel.HIGH)] == ["C-000002"]
        assert [r["code"] for r in customers.listing(w, kind=CustomerKind.PERSON)] == ["C-000001"]
        assert customers.listing(w, text="%") == []  # typed % and _ are literal, not wildcards
        assert len(customers.listing(w, limit=1)) == 1


def test_unknown_code(work):
    with work() as w, pytest.raises(NotFound, match="C-999999"):
        customers.show(w, "C-999999")
