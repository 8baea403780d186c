"""Revisits through the services (L6): first contact T5, quarterly T6, post-claim T13, ratings Q2."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import ContactChannel, RevisitKind
from insurtrack.errors import BadInput, NotFound, Refused
from insurtrack.services import revisits as svc
from tests import factories

K = RevisitKind
PHONE = ContactChannel.PHONE


@pytest.fixture
def book(work, clock):
    """C-000001 added Mon 09:00 with P-000001 in force from Tue 09:00 (issued P-000002 never paid);
    C-000002 with P-000003 in force. The clock then stands at Wed 09:00."""
    with work("sally") as w:
        li = factories.customer(w)
        wang = factories.customer(w, name="Wang")
    clock.advance(days=1)
    with work("uma") as w:
        factories.policy(w, li)
        factories.policy(w, li, status="issued")
        factories.policy(w, wang)
    clock.advance(days=1)
    return li, wang


def _events(work, code):
    with work() as w:
        return [(e.type, e.customer_id, e.payload) for e in w.session.execute(
            select(m.Event).where(m.Event.subject == code)).scalars()]


def _claim(work, policy_code, status):
    with work("carl") as w:
        pol = w.session.execute(select(m.Policy).where(m.Policy.code == policy_code)).scalar_one()
        return factories.claim(w, pol, status=status)


def test_t5_first_contact_on_a_policy_in_force_records_revisit_and_event(work, book, clock):
    li, _ = book
    with work("sam") as w:
        r = svc.log(w, "c-000001", kind=K.FIRST_CONTACT, channel=PHONE, policy="p-000001",
                    satisfaction=4, notes="terms explained")
    assert (r.code, r.kind, r.channel, r.satisfaction) == ("R-000001", "first_contact", "phone", 4)
    assert r.occurred_at == clock.now()
    [(kind, customer_id, payload)] = _events(work, "R-000001")
    assert (kind, customer_id) == ("revisit.first_contact", li.id)
    assert payload == {"policy": "P-000001", "channel": "phone", "satisfaction": 4}


def test_t5_first_contact_needs_a_policy_that_went_in_force(work, book):
    with work("sam") as w, pytest.raises(BadInput, match="--policy: is required for a first_contact"):
        svc.log(w, "C-000001", kind=K.FIRST_CONTACT, channel=PHONE)
    with work("sam") as w, pytest.raises(Refused, match="P-000002 is issued and has never been in force"):
        svc.log(w, "C-000001", kind=K.FIRST_CONTACT, channel=PHONE, policy="P-000002")


def test_t5_first_contact_also_for_a_policy_that_was_in_force(work, book):
    with work("uma") as w:
        w.session.execute(select(m.Policy).where(m.Policy.code == "P-000001")).scalar_one().status = "suspended"
    with work("sam") as w:
        assert svc.log(w, "C-000001", kind=K.FIRST_CONTACT, channel=PHONE, policy="P-000001").policy_id


def test_t5_first_contact_not_before_the_policy_went_in_force(work, book, clock):
    with work("sam") as w, pytest.raises(BadInput, match="before policy P-000001 went in force"):
        svc.log(w, "C-000001", kind=K.FIRST_CONTACT, channel=PHONE, policy="P-000001",
                at=clock.now() - timedelta(days=1, hours=1))
    with work("sam") as w:
        r = svc.log(w, "C-000001", kind=K.FIRST_CONTACT, channel=PHONE, policy="P-000001",
                    at=clock.now() - timedelta(days=1))
    assert r.occurred_at == clock.now() - timedelta(days=1)


def test_t6_quarterly_needs_a_policy_in_force(work, book):
    with work("sam") as w:
        r = svc.log(w, "C-000001", kind=K.QUARTERLY, channel=ContactChannel.VISIT, satisfaction=5,
                    changed_needs="second child: more life cover")
    assert r.policy_id is None and r.changed_needs == "second child: more life cover"
    [(kind, _, payload)] = _events(work, r.code)
    assert kind == "revisit.quarterly" and payload["changed_needs"] == "second child: more life cover"
    with work("sam") as w, pytest.raises(Refused, match="P-000002 is issued, not in force"):
        svc.log(w, "C-000001", kind=K.QUARTERLY, channel=PHONE, policy="P-000002")
    with work("sally") as w:
        factories.customer(w, name="Prospect")
    with work("sam") as w, pytest.raises(Refused, match="C-000003 holds no policy in force"):
        svc.log(w, "C-000003", kind=K.QUARTERLY, channel=PHONE)


@pytest.mark.parametrize("status", ["paid", "rejected", "closed"])
def test_t13_post_claim_on_a_settled_claim(work, book, status):
    cl = _claim(work, "P-000001", status)
    with work("sam") as w:
        r = svc.log(w, "C-000001", kind=K.POST_CLAIM, channel=ContactChannel.WECHAT,
                    claim=cl.code, satisfaction=3, notes="wants faster payment")
    assert (r.claim_id, r.policy_id) == (cl.id, cl.policy_id)
    [(kind, _, payload)] = _events(work, r.code)
    assert kind == "revisit.post_claim" and payload["claim"] == cl.code and payload["policy"] == "P-000001"


@pytest.mark.parametrize("status", ["reported", "contacted", "investigating", "awaiting_documents",
                                    "approved"])
def test_t13_post_claim_on_an_unsettled_claim_is_refused(work, book, status):
    cl = _claim(work, "P-000001", status)
    with work("sam") as w, pytest.raises(Refused, match=f"{cl.code} is {status.replace('_', ' ')}, not settled"):
        svc.log(w, "C-000001", kind=K.POST_CLAIM, channel=PHONE, claim=cl.code)


def test_t13_post_claim_names_its_claim(work, book):
    with work("sam") as w, pytest.raises(BadInput, match="--claim: is required"):
        svc.log(w, "C-000001", kind=K.POST_CLAIM, channel=PHONE)


def test_t13_post_claim_not_before_the_claim_was_settled(work, book, clock):
    cl = _claim(work, "P-000001", "paid")
    with work("carl") as w:
        w.session.get(m.Claim, cl.id).paid_at = clock.now() - timedelta(hours=2)
    with work("sam") as w, pytest.raises(BadInput, match=f"before claim {cl.code} was settled"):
        svc.log(w, "C-000001", kind=K.POST_CLAIM, channel=PHONE, claim=cl.code,
                at=clock.now() - timedelta(hours=3))


def test_policy_and_claim_must_be_the_customers(work, book):
    cl = _claim(work, "P-000003", "paid")
    with work("sam") as w, pytest.raises(Refused, match="policy P-000003 is not a policy of customer C-000001"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, policy="P-000003")
    with work("sam") as w, pytest.raises(Refused, match=f"claim {cl.code} is not a claim of customer C-000001"):
        svc.log(w, "C-000001", kind=K.POST_CLAIM, channel=PHONE, claim=cl.code)
    other = _claim(work, "P-000001", "paid")
    with work("sam") as w, pytest.raises(Refused, match=f"claim {other.code} is not a claim on policy P-000002"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, claim=other.code, policy="P-000002")
    with work("sam") as w, pytest.raises(NotFound, match="P-000404"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, policy="P-000404")
    with work("sam") as w, pytest.raises(NotFound, match="C-000404"):
        svc.log(w, "C-000404", kind=K.AD_HOC, channel=PHONE)


@pytest.mark.parametrize("score", [0, 6, -1])
def test_q2_satisfaction_outside_1_to_5_is_refused(work, book, score):
    with work("sam") as w, pytest.raises(BadInput, match="--satisfaction"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, satisfaction=score)


def test_at_never_before_the_customer_was_added_nor_in_the_future(work, book, clock):
    with work("sam") as w, pytest.raises(BadInput, match="before customer C-000001 was added"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, at=clock.now() - timedelta(days=3))
    with work("sam") as w, pytest.raises(BadInput, match="in the future"):
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, at=clock.now() + timedelta(minutes=1))


def test_listing_filters_newest_first_and_show(work, book, clock):
    with work("sam") as w:
        svc.log(w, "C-000001", kind=K.AD_HOC, channel=PHONE, at=clock.now() - timedelta(days=2))
        svc.log(w, "C-000002", kind=K.QUARTERLY, channel=PHONE, satisfaction=2)
    with work("boss") as w:
        svc.log(w, "C-000001", kind=K.QUARTERLY, channel=PHONE, at=clock.now() - timedelta(hours=1))
    with work() as w:
        assert [r["code"] for r in svc.listing(w)] == ["R-000002", "R-000003", "R-000001"]
        assert [r["code"] for r in svc.listing(w, customer="c-000001")] == ["R-000003", "R-000001"]
        assert [r["code"] for r in svc.listing(w, kind=K.QUARTERLY, by="boss")] == ["R-000003"]
        # dates are local (Shanghai) and both ends are included
        assert [r["code"] for r in svc.listing(w, start=date(2026, 3, 2), end=date(2026, 3, 2))] == ["R-000001"]
        assert [r["code"] for r in svc.listing(w, start=date(2026, 3, 4))] == ["R-000002", "R-000003"]
        assert [r["code"] for r in svc.listing(w, limit=1)] == ["R-000002"]
        with pytest.raises(BadInput, match="--from '2026-03-05': is after --to"):
            svc.listing(w, start=date(2026, 3, 5), end=date(2026, 3, 4))
        with pytest.raises(NotFound, match="ghost"):
            svc.listing(w, by="ghost")
        shown = svc.show(w, "r-000002")
    assert shown == {"code": "R-000002", "at": clock.now(), "customer": "C-000002", "name": "Wang",
                     "kind": "quarterly", "channel": "phone", "policy": None, "claim": None,
                     "satisfaction": 2, "by": "sam", "changed_needs": None, "notes": None}
