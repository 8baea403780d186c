"""Customer feedback through the services (T8, Q2): open → transfer → resolve → inform → closed,
reopen, and every forbidden step refused naming the state and the allowed steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import ContactChannel, Department, FeedbackKind
from insurtrack.errors import BadInput, IllegalTransition, NotFound, Refused
from insurtrack.services import feedback as svc
from tests import factories

COMPLAINT = FeedbackKind.COMPLAINT


@pytest.fixture
def cust(work, clock):
    """C-000001 with P-000001 in force; C-000002 with P-000002. The clock then moves a day on."""
    with work("sally") as w:
        li = factories.customer(w)
        factories.policy(w, li)
        factories.policy(w, factories.customer(w, name="Wang"))
    clock.advance(days=1)
    return li


def _open(work, login="sam", **kw):
    args = dict(kind=COMPLAINT, summary="premium notice arrived late")
    args.update(kw)
    with work(login) as w:
        return svc.open_(w, "C-000001", **args)


def _events(work, code):
    with work() as w:
        return [(e.type, e.payload) for e in w.session.execute(
            select(m.Event).where(m.Event.subject == code).order_by(m.Event.id)).scalars()]


def _in(work, status):
    """A feedback F-… brought to `status` through the services."""
    f = _open(work)
    with work("sam") as w:
        if status == "transferred":
            svc.transfer(w, f.code, to=Department.CLAIMS, note="please check")
        if status in ("resolved", "closed"):
            svc.resolve(w, f.code, resolution="sent again")
        if status == "closed":
            svc.inform(w, f.code)
    return f.code


def test_t8_open_defaults_to_the_actors_department_with_an_event(work, cust, clock):
    f = _open(work, channel=ContactChannel.PHONE, policy="p-000001")
    assert (f.code, f.status, f.department, f.kind, f.channel) == (
        "F-000001", "open", "service", "complaint", "phone")
    assert f.opened_at == clock.now() and f.resolved_at is None
    with work() as w:
        assert w.session.get(m.Staff, f.assignee_id).code == "sam"
    assert _events(work, f.code) == [("feedback.opened", {
        "kind": "complaint", "channel": "phone", "summary": "premium notice arrived late",
        "department": "service", "policy": "P-000001"})]


def test_t8_open_for_another_department_waits_in_its_queue(work, cust):
    f = _open(work, department=Department.UNDERWRITING, kind=FeedbackKind.QUESTION)
    assert (f.department, f.assignee_id) == ("underwriting", None)


def test_t8_solved_on_the_spot_is_resolved_in_the_same_step(work, cust, clock):
    f = _open(work, kind=FeedbackKind.QUESTION, resolved="explained the grace period")
    assert (f.status, f.resolution, f.resolved_at) == ("resolved", "explained the grace period",
                                                      clock.now())
    assert [t for t, _ in _events(work, f.code)] == ["feedback.opened", "feedback.resolved"]


def test_t8_full_path_transfer_resolve_inform(work, cust, clock):
    f = _open(work)
    clock.advance(hours=1)
    with work("sam") as w:
        svc.transfer(w, f.code, to=Department.CLAIMS, assignee="cora", note="claim paid late?")
    clock.advance(hours=1)
    with work("cora") as w:
        t = svc.transfer(w, f.code, to=Department.SALES, note="agent promised otherwise")
    assert (t.status, t.department, t.assignee_id) == ("transferred", "sales", None)
    clock.advance(hours=1)
    with work("sid") as w:
        r = svc.resolve(w, f.code, resolution="premium notice resent by email")
    assert (r.status, r.resolved_at) == ("resolved", clock.now())
    clock.advance(hours=1)
    with work("sam") as w:
        c = svc.inform(w, f.code, channel=ContactChannel.SMS, note="customer thanked us")
    assert (c.status, c.informed_at) == ("closed", clock.now())
    events = _events(work, f.code)
    assert [t for t, _ in events] == ["feedback.opened", "feedback.transferred",
                                      "feedback.transferred", "feedback.resolved",
                                      "feedback.informed"]
    assert events[1][1] == {"from": "service", "to": "claims", "assignee": "cora",
                            "note": "claim paid late?"}
    assert events[2][1] == {"from": "claims", "to": "sales", "note": "agent promised otherwise"}
    assert events[4][1] == {"channel": "sms", "note": "customer thanked us"}
    with work() as w:
        record, sections = svc.show(w, f.code)
    assert (record["status"], record["department"], record["resolved_by"], record["informed_by"]) == (
        "closed", "sales", "sid", "sam")
    assert [e["by"] for e in sections["timeline"]] == ["sam", "sam", "cora", "sid", "sam"]


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_reopen_from_resolved_or_closed_clears_the_outcome(work, cust, status):
    code = _in(work, status)
    with work("sam") as w:
        f = svc.reopen(w, code, reason="notice still missing")
    assert (f.status, f.resolution, f.resolved_at, f.informed_at) == ("open", None, None, None)
    assert _events(work, code)[-1] == ("feedback.reopened", {"reason": "notice still missing",
                                                             "department": "service"})


FORBIDDEN = [
    ("open", "inform", "resolve, transfer"),
    ("open", "reopen", "resolve, transfer"),
    ("transferred", "inform", "resolve, transfer"),
    ("transferred", "reopen", "resolve, transfer"),
    ("resolved", "transfer", "inform, reopen"),
    ("resolved", "resolve", "inform, reopen"),
    ("closed", "transfer", "reopen"),
    ("closed", "resolve", "reopen"),
    ("closed", "inform", "reopen"),
]

STEPS = {
    "transfer": lambda w, code: svc.transfer(w, code, to=Department.UNDERWRITING, note="n"),
    "resolve": lambda w, code: svc.resolve(w, code, resolution="done"),
    "inform": lambda w, code: svc.inform(w, code),
    "reopen": lambda w, code: svc.reopen(w, code, reason="again"),
}


@pytest.mark.parametrize("status,step,allowed", FORBIDDEN)
def test_t8_forbidden_steps_name_the_state_and_the_allowed_steps(work, cust, status, step, allowed):
    code = _in(work, status)
    before = _events(work, code)
    with work("sam") as w, pytest.raises(IllegalTransition) as err:
        STEPS[step](w, code)
    assert err.value.message == (f"cannot {step} feedback {code}: it is {status}; "
                                 f"allowed steps: {allowed}")
    assert _events(work, code) == before
    with work() as w:
        assert svc.get(w, code).status == status


ALLOWED = [("open", "transfer", "transferred"), ("open", "resolve", "resolved"),
           ("transferred", "transfer", "transferred"), ("transferred", "resolve", "resolved"),
           ("resolved", "inform", "closed"), ("resolved", "reopen", "open"),
           ("closed", "reopen", "open")]


@pytest.mark.parametrize("status,step,after", ALLOWED)
def test_t8_allowed_steps(work, cust, status, step, after):
    code = _in(work, status)
    with work("sam") as w:
        assert STEPS[step](w, code).status == after


def test_transfer_to_the_department_holding_it_is_refused(work, cust):
    code = _in(work, "open")
    with work("sam") as w, pytest.raises(Refused, match="F-000001 is already with service"):
        svc.transfer(w, code, to=Department.SERVICE, note="n")


def test_transfer_assignee_must_be_active_staff_of_that_department(work, cust):
    code = _in(work, "open")
    with work("sam") as w, pytest.raises(BadInput, match="--assignee 'uma': works in underwriting, not claims"):
        svc.transfer(w, code, to=Department.CLAIMS, assignee="uma", note="n")
    with work("sam") as w, pytest.raises(NotFound, match="ghost"):
        svc.transfer(w, code, to=Department.CLAIMS, assignee="ghost", note="n")
    with work() as w:
        w.session.execute(select(m.Staff).where(m.Staff.code == "cora")).scalar_one().active = False
    with work("sam") as w, pytest.raises(BadInput, match="--assignee 'cora': is deactivated"):
        svc.transfer(w, code, to=Department.CLAIMS, assignee="cora", note="n")


def test_each_steps_at_never_precedes_the_previous_step(work, cust, clock):
    code = _in(work, "open")
    clock.advance(hours=2)
    with work("sam") as w:
        svc.transfer(w, code, to=Department.CLAIMS, note="n", at=clock.now() - timedelta(hours=1))
    with work("carl") as w, pytest.raises(BadInput, match="before the previous step of feedback F-000001"):
        svc.resolve(w, code, resolution="r", at=clock.now() - timedelta(hours=1, minutes=30))
    with work("carl") as w:
        svc.resolve(w, code, resolution="r", at=clock.now() - timedelta(hours=1))
    with work("sam") as w, pytest.raises(BadInput, match="in the future"):
        svc.inform(w, code, at=clock.now() + timedelta(minutes=5))
    with work("sam") as w, pytest.raises(BadInput, match="before the previous step"):
        svc.reopen(w, code, reason="x", at=clock.now() - timedelta(hours=2))
    with work("sam") as w, pytest.raises(BadInput, match="before customer C-000001 was added"):
        svc.open_(w, "C-000001", kind=COMPLAINT, summary="s", at=clock.now() - timedelta(days=2))


def test_open_checks_customer_policy_and_claim(work, cust):
    with work("carl") as w:
        pol = w.session.execute(select(m.Policy).where(m.Policy.code == "P-000002")).scalar_one()
        cl = factories.claim(w, pol)
    with pytest.raises(Refused, match="policy P-000002 is not a policy of customer C-000001"):
        _open(work, policy="P-000002")
    with pytest.raises(Refused, match=f"claim {cl.code} is not a claim of customer C-000001"):
        _open(work, claim=cl.code)
    with work("sam") as w, pytest.raises(NotFound, match="C-000404"):
        svc.open_(w, "C-000404", kind=COMPLAINT, summary="s")
    with work("sam") as w, pytest.raises(NotFound, match="F-000404"):
        svc.resolve(w, "F-000404", resolution="r")


def test_listing_filters_newest_first(work, cust, clock):
    _open(work)                                                     # F-1 service, open
    clock.advance(minutes=5)
    _open(work, kind=FeedbackKind.REQUEST, resolved="done")         # F-2 resolved
    clock.advance(minutes=5)
    code = _in(work, "closed")                                      # F-3 closed
    clock.advance(minutes=5)
    with work("sally") as w:
        svc.open_(w, "C-000002", kind=FeedbackKind.QUESTION, summary="q")  # F-4 sales
    with work() as w:
        codes = lambda **kw: [r["code"] for r in svc.listing(w, **kw)]  # noqa: E731
        assert codes() == ["F-000004", "F-000003", "F-000002", "F-000001"]
        assert codes(not_closed=True) == ["F-000004", "F-000002", "F-000001"]
        assert codes(status="resolved") == ["F-000002"]
        assert codes(department=Department.SALES) == ["F-000004"]
        assert codes(customer="c-000001", kind=COMPLAINT) == [code, "F-000001"]
        assert codes(limit=2) == ["F-000004", "F-000003"]
        row = svc.listing(w, department=Department.SALES)[0]
    assert row == {"code": "F-000004", "opened_at": clock.now(), "customer": "C-000002",
                   "kind": "question", "status": "open", "department": "sales",
                   "assignee": "sally", "summary": "q"}
