"""Personal data (issue 6, D3): ID and phone numbers masked in lists, shows and exports; --reveal
for managers, sales and service only, each reveal recorded as an event in the customer's history."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.privacy import mask_id, mask_payload, mask_phone

ID = "110101198506150019"


@pytest.mark.parametrize("value, masked", [
    ("110101198506150019", "110101********0019"),   # PRC resident ID: region code + last 4
    ("11010519491231002X", "110105********002X"),
    ("110101850615001", "110********5001"),         # old 15-digit ID: its birth date hidden
    ("E12345678", "*****5678"),                     # passport: last 4
    ("91310000-ABC", "*******0-ABC"),               # 9-14 letters/digits: last 4, dash kept
    ("AB123", "***23"),
    ("ABCD", "****"),
    (None, None),
    ("", ""),
])
def test_id_numbers_keep_region_and_last_four(value, masked):
    assert mask_id(value) == masked


@pytest.mark.parametrize("value, masked", [
    ("13812345678", "138****5678"),
    ("+86 138 1234 5678", "+86 1** **** 5678"),
    ("021 5555 0101", "021 **** 0101"),
    ("5555 0101", "**** **01"),
    ("12345", "***45"),
    ("1234", "****"),
    (None, None),
])
def test_phone_numbers_keep_first_three_and_last_four(value, masked):
    assert mask_phone(value) == masked


@given(st.text(alphabet="0123456789 +-()ABCXZ", max_size=40))
def test_enough_is_hidden_and_the_shape_kept(value):
    """A long ID hides at least 8, a long phone at least 4, a shorter number at least half;
    separators stay where they were and the length is kept."""
    for mask, counted, long, least in ((mask_id, str.isalnum, 15, 8),
                                       (mask_phone, str.isdigit, 11, 4)):
        out = mask(value)
        assert len(out) == len(value)
        assert [c for c, o in zip(value, out) if not counted(c)] == \
               [o for c, o in zip(value, out) if not counted(c)]
        n = sum(map(counted, value))
        hidden = sum(1 for c, o in zip(value, out) if counted(c) and o == "*")
        assert hidden >= least if n >= long else hidden * 2 >= n


def test_payload_masking_reaches_edits():
    payload = {"changes": {"phone": {"from": "13800000001", "to": "13900000002"},
                           "id_number": {"from": None, "to": ID}, "region": {"to": "Beijing"}},
               "reporter_phone": "13812345678", "name": "Li"}
    assert mask_payload(payload) == {
        "changes": {"phone": {"from": "138****0001", "to": "139****0002"},
                    "id_number": {"from": None, "to": "110101********0019"},
                    "region": {"to": "Beijing"}},
        "reporter_phone": "138****5678", "name": "Li"}


@pytest.fixture
def li(cli):
    cli.ok("customer", "add", "Li Na", "--phone", "13812345678", "--id-number", ID, as_="sally")
    cli.ok("customer", "add", "Wang Wei", "--phone", "13900000000", as_="sally")
    cli.ok("customer", "edit", "C-000001", "--phone", "13811112222", as_="sally")
    return "C-000001"


def reveals(cli) -> list[tuple[str, str, dict]]:
    with cli.engine.connect() as conn:
        rows = conn.execute(select(m.Event.subject, m.Staff.code, m.Event.payload)
                            .join(m.Staff, m.Staff.id == m.Event.actor_id)
                            .where(m.Event.type == "personal_data.revealed")
                            .order_by(m.Event.id)).all()
    return [tuple(r) for r in rows]


def test_lists_and_shows_mask_by_default(cli, li):
    rows = cli.json("customer", "list", as_="carl")
    assert [r["phone"] for r in rows] == ["138****2222", "139****0000"]
    assert [r["phone"] for r in cli.json("customer", "search", ID, as_="uma")] == ["138****2222"]
    doc = cli.json("customer", "show", li, as_="carl")
    assert (doc["id_number"], doc["phone"]) == ("110101********0019", "138****2222")
    edited = [t for t in doc["timeline"] if t["event"] == "customer.edited"]
    assert "13812345678" not in edited[0]["details"] and "138****5678" in edited[0]["details"]
    table = cli.ok("customer", "list", as_="carl").stdout
    assert "138****2222" in table and "13811112222" not in table
    assert reveals(cli) == []  # nothing revealed, nothing recorded


@pytest.mark.parametrize("login", ["boss", "sally", "sam"])
def test_reveal_shows_in_full_and_is_recorded_in_each_customers_history(cli, li, login):
    rows = cli.json("customer", "list", "--reveal", as_=login)
    assert [r["phone"] for r in rows] == ["13811112222", "13900000000"]
    assert reveals(cli) == [
        ("C-000001", login, {"command": "customer list", "records": 2,
                             "fields": "ID and phone numbers"}),
        ("C-000002", login, {"command": "customer list", "records": 2,
                             "fields": "ID and phone numbers"})]
    doc = cli.json("customer", "show", li, "--reveal", as_=login)
    assert (doc["id_number"], doc["phone"]) == (ID, "13811112222")
    seen = [(t["event"], t["by"], t["details"]) for t in doc["timeline"]
            if t["event"] == "personal_data.revealed"]
    assert seen == [("personal_data.revealed", login, "command: customer list; records: 2; "
                                                      "fields: ID and phone numbers"),
                    ("personal_data.revealed", login, "command: customer show; records: 1; "
                                                      "fields: ID and phone numbers")]
    # and in the masked view too, for anyone who looks at the record
    assert [t["event"] for t in cli.json("customer", "show", li, as_="carl")["timeline"]
            ].count("personal_data.revealed") == 2


@pytest.mark.parametrize("login, dept", [("uma", "underwriting"), ("carl", "claims")])
def test_reveal_is_refused_for_other_departments_and_changes_nothing(cli, li, login, dept):
    for args in (["customer", "list", "--reveal"], ["customer", "search", "Li", "--reveal"],
                 ["customer", "show", li, "--reveal"]):
        cli.fails(5, *args, as_=login, expect=f"{login} ({dept}) may not reveal ID and phone "
                                             "numbers (personal_data.reveal)")
    assert reveals(cli) == []


def test_exports_mask_unless_revealed_and_each_reveal_is_one_event(cli, li):
    rows = list(csv.DictReader(io.StringIO(cli.ok("export", "customers").stdout)))
    assert [(r["id_number"], r["phone"]) for r in rows] == [("110101********0019", "138****2222"),
                                                            ("", "139****0000")]
    events = cli.json("export", "events")
    edit = [e for e in events if e["type"] == "customer.edited"][0]
    assert edit["payload"]["changes"]["phone"] == {"from": "138****5678", "to": "138****2222"}
    assert reveals(cli) == []
    rows = cli.json("export", "customers", "--reveal")
    assert [(r["id_number"], r["phone"]) for r in rows] == [(ID, "13811112222"),
                                                            (None, "13900000000")]
    assert reveals(cli) == [("export customers", "boss",
                             {"command": "export customers", "records": 2,
                              "fields": "ID and phone numbers"})]


def test_claim_reporter_phone_is_masked_in_the_export(cli, work):
    from tests import factories

    with work("boss") as w:
        c = factories.customer(w)
        factories.claim(w, factories.policy(w, c))
        w.session.execute(m.Claim.__table__.update().values(reporter_phone="13812345678"))
    [row] = cli.json("export", "claims")
    assert row["reporter_phone"] == "138****5678"
    [row] = cli.json("export", "claims", "--reveal")
    assert row["reporter_phone"] == "13812345678"


def test_a_masked_value_typed_back_is_refused(cli, li):
    cli.fails(2, "customer", "edit", li, "--phone", "138****2222", as_="sally",
              expect="--phone '138****2222': is masked ('*')")
    cli.fails(2, "customer", "add", "X", "--id-number", "110101********0019", as_="sally",
              expect="--id-number '110101********0019': is masked")
