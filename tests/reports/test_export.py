"""`insurtrack export`: raw records with codes for every foreign key, as a stable csv / json
contract; formula cells neutralised, --excel byte-order mark, Chinese text intact, --from/--to by
each kind's own date, and memory flat in the number of rows (streamed, never a list of rows)."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from insurtrack import db
from insurtrack.cli.output import Output
from insurtrack.domain import models as m
from insurtrack.reports import export
from tests import factories

FORMULA = '=HYPERLINK("x")'


def table(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


@pytest.fixture
def book(cli, work):
    """C-000001 named like a formula (added 1 Feb), C-000002 张伟 rated A/low, C-000003 a company;
    A-000001 accepted for C-000002 (monthly, 1 year, term-life 1200 + accident 300 a year, 10%
    loading → 1650.00 a year, 137.50 a month) issued as P-000001 from 15 Jan 2026 with 275.00
    paid (installments 1 and 2); CL-000001 on P-000001; a first-contact revisit; a complaint."""
    cli.ok("customer", "add", FORMULA, "--phone", "+86 13800000000", "--region", "上海",
           "--owner", "sally", "--at", "2026-02-01 10:00")
    cli.ok("customer", "add", "张伟", "--id-number", "110101198506150019", "--email",
           "zw@example.com", "--born", "1985-06-15", "--source", "referral", "--owner", "sid",
           "--address", "上海市, 南京路 1号")
    cli.ok("customer", "rate", "C-000002", "--credit", "A", "--risk", "low", "--reason",
           "pays on time")
    cli.ok("customer", "add", "上海贸易有限公司", "--company", "--founded", "2001-01-01",
           "--owner", "sally")
    with work("sid") as w:
        cust = w.session.execute(select(m.Customer).where(m.Customer.code == "C-000002")).scalar_one()
        factories.application(w, cust, status="accepted", frequency="monthly", rate_loading=D("10"),
                              lines=(("term-life", "500000.00", "1200.00"),
                                     ("accident", "100000.00", "300.00")))
    cli.ok("policy", "issue", "A-000001", "--effective", "2026-01-15", as_="uma")
    cli.ok("policy", "pay", "P-000001", "--amount", "275", "--method", "wechat_pay",
           "--reference", "WX-1", as_="sam")
    cli.ok("claim", "report", "P-000001", "--incident-at", "2026-03-01 18:00", "--place", "南京路",
           "--circumstances", "fell on the stairs", "--amount", "12000", "--product", "accident",
           "--cause", "fall", as_="carl")
    cli.ok("revisit", "log", "C-000002", "--kind", "first_contact", "--channel", "phone",
           "--policy", "P-000001", "--satisfaction", "5", "--notes", "满意", as_="sam")
    cli.ok("revisit", "feedback", "open", "C-000002", "--kind", "complaint", "--summary",
           "-slow answer", "--channel", "phone", as_="sam")
    return cli


def test_every_kind_has_its_pinned_columns(cli):
    """The columns are a contract: an empty book still writes the header line."""
    pinned = {
        "customers": "code,kind,name,id_number,phone,email,address,birth_date,region,source,owner,"
                     "credit_rating,risk_level,rating_reason,rated_at,notes,created_at,updated_at",
        "applications": "code,customer,owner,status,frequency,term,lines,rate_loading,conditions,"
                        "promised_date,delivered_at,review_note,reviewed_at,submitted_at,"
                        "info_requested,decision,decline_reason,decline_advice,decided_at,"
                        "decided_by,withdraw_reason,created_at",
        "policies": "code,customer,owner,status,frequency,term,effective_date,expiry_date,lines,"
                    "sum_insured,premium,rate_loading,conditions,paid_installments,application,"
                    "renewed_from,issued_at,in_force_at,suspended_at,expired_at,cancelled_at,"
                    "cancel_reason",
        "installments": "policy,seq,due_date,amount,paid_amount,status,paid_at",
        "payments": "policy,installment,amount,method,reference,paid_at,recorded_by",
        "claims": "code,policy,customer,handler,status,product,cause,incident_at,place,"
                  "circumstances,reporter_name,reporter_phone,amount_claimed,reported_at,"
                  "contacted_at,complexity,investigation_plan,assessed_by,approved_amount,"
                  "approved_at,approved_by,rejection_reason,rejected_at,paid_amount,paid_at,"
                  "payment_method,payment_reference,closed_at,close_reason",
        "revisits": "code,customer,policy,claim,kind,channel,satisfaction,changed_needs,notes,"
                    "occurred_at,actor",
        "feedback": "code,customer,policy,claim,kind,channel,summary,status,department,assignee,"
                    "resolution,opened_at,opened_by,resolved_at,resolved_by,informed_at,"
                    "informed_by",
        "events": "id,occurred_at,recorded_at,type,subject,customer,actor,payload",
        "followups": "id,rule,kind,subject,customer,department,assignee,title,note,status,"
                     "anchor_ref,anchor_date,occurrence,opened_at,started_at,warn_at,due_at,"
                     "paused_at,closed_at,closed_by,close_note,breached",
    }
    assert set(pinned) == set(export.KINDS)
    for kind, header in pinned.items():
        assert ",".join(export.COLUMNS[kind]) == header
        if kind == "events":  # registering the staff wrote staff.added events
            assert cli.ok("export", kind).stdout.startswith(header + "\n1,")
            continue
        assert cli.ok("export", kind).stdout == header + "\n"
        assert cli.json("export", kind) == []


def test_customers_exact_with_codes_logins_neutralised_cells_and_chinese(book):
    rows = table(book.ok("export", "customers").stdout)
    assert rows == [
        {"code": "C-000001", "kind": "person", "name": "'" + FORMULA, "id_number": "",
         "phone": "'+86 13800000000", "email": "", "address": "", "birth_date": "",
         "region": "上海", "source": "", "owner": "sally", "credit_rating": "", "risk_level": "",
         "rating_reason": "", "rated_at": "", "notes": "",
         "created_at": "2026-02-01T10:00:00+08:00", "updated_at": "2026-03-02T09:00:00+08:00"},
        {"code": "C-000002", "kind": "person", "name": "张伟", "id_number": "110101198506150019",
         "phone": "", "email": "zw@example.com", "address": "上海市, 南京路 1号",
         "birth_date": "1985-06-15", "region": "", "source": "referral", "owner": "sid",
         "credit_rating": "A", "risk_level": "low", "rating_reason": "pays on time",
         "rated_at": "2026-03-02T09:00:00+08:00", "notes": "",
         "created_at": "2026-03-02T09:00:00+08:00", "updated_at": "2026-03-02T09:00:00+08:00"},
        {"code": "C-000003", "kind": "company", "name": "上海贸易有限公司", "id_number": "",
         "phone": "", "email": "", "address": "", "birth_date": "2001-01-01", "region": "",
         "source": "", "owner": "sally", "credit_rating": "", "risk_level": "",
         "rating_reason": "", "rated_at": "", "notes": "",
         "created_at": "2026-03-02T09:00:00+08:00", "updated_at": "2026-03-02T09:00:00+08:00"},
    ]
    # the raw text: csv quotes the cell, which starts with the neutralising quote
    line = book.ok("export", "customers").stdout.splitlines()[1]
    assert line.startswith('C-000001,person,"\'=HYPERLINK(""x"")",,\'+86 13800000000,,,,上海,')
    # json is data, not a spreadsheet: the value as it is
    doc = book.json("export", "customers")
    assert doc[0]["name"] == FORMULA and doc[1]["name"] == "张伟" and doc[0]["owner"] == "sally"


def test_excel_adds_a_byte_order_mark_and_chinese_round_trips_through_utf8(book):
    plain = book.ok("export", "customers").stdout_bytes
    excel = book.ok("export", "customers", "--excel").stdout_bytes
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel == b"\xef\xbb\xbf" + plain
    rows = table(excel.decode("utf-8-sig"))
    assert [r["name"] for r in rows[1:]] == ["张伟", "上海贸易有限公司"]
    assert "张伟".encode() in plain  # UTF-8, not an escaped or legacy encoding


def test_policies_installments_payments(book):
    [p] = table(book.ok("export", "policies").stdout)
    assert p == {
        "code": "P-000001", "customer": "C-000002", "owner": "sid", "status": "in_force",
        "frequency": "monthly", "term": "1y", "effective_date": "2026-01-15",
        "expiry_date": "2027-01-14",
        "lines": "term-life:500000.00:1200.00;accident:100000.00:300.00",
        "sum_insured": "600000.00", "premium": "1650.00", "rate_loading": "10.00",
        "conditions": "", "paid_installments": "2", "application": "A-000001",
        "renewed_from": "", "issued_at": "2026-03-02T09:00:00+08:00",
        "in_force_at": "2026-03-02T09:00:00+08:00", "suspended_at": "", "expired_at": "",
        "cancelled_at": "", "cancel_reason": ""}
    inst = table(book.ok("export", "installments").stdout)
    assert len(inst) == 12
    assert inst[0] == {"policy": "P-000001", "seq": "1", "due_date": "2026-01-15",
                       "amount": "137.50", "paid_amount": "137.50", "status": "paid",
                       "paid_at": "2026-03-02T09:00:00+08:00"}
    assert [(r["seq"], r["status"]) for r in inst[1:3]] == [("2", "paid"), ("3", "due")]
    assert table(book.ok("export", "payments").stdout) == [
        {"policy": "P-000001", "installment": str(k), "amount": "137.50", "method": "wechat_pay",
         "reference": "WX-1", "paid_at": "2026-03-02T09:00:00+08:00", "recorded_by": "sam"}
        for k in (1, 2)]
    [a] = book.json("export", "applications")
    assert (a["code"], a["customer"], a["owner"], a["status"], a["term"], a["lines"]) == (
        "A-000001", "C-000002", "sid", "issued", "1y",
        "term-life:500000.00:1200.00;accident:100000.00:300.00")


def test_claims_revisits_feedback_events_followups_name_records_by_code(book):
    [c] = book.json("export", "claims")
    assert (c["code"], c["policy"], c["customer"], c["handler"], c["product"], c["place"],
            c["amount_claimed"], c["incident_at"]) == (
        "CL-000001", "P-000001", "C-000002", "carl", "accident", "南京路", "12000.00",
        "2026-03-01T18:00:00+08:00")
    [r] = book.json("export", "revisits")
    assert (r["code"], r["customer"], r["policy"], r["claim"], r["kind"], r["satisfaction"],
            r["notes"], r["actor"]) == ("R-000001", "C-000002", "P-000001", None,
                                        "first_contact", 5, "满意", "sam")
    [f] = table(book.ok("export", "feedback").stdout)
    assert (f["code"], f["customer"], f["summary"], f["opened_by"], f["status"]) == (
        "F-000001", "C-000002", "'-slow answer", "sam", "open")
    events = book.json("export", "events")
    issued = next(e for e in events if e["type"] == "policy.issued")
    assert (issued["subject"], issued["customer"], issued["actor"]) == ("P-000001", "C-000002", "uma")
    assert issued["payload"]["premium"] == "1650.00"  # json: the payload is an object
    as_csv = {r["id"]: r for r in table(book.ok("export", "events").stdout)}
    assert json.loads(as_csv[str(issued["id"])]["payload"]) == issued["payload"]  # csv: JSON text
    rules = {(f["rule"], f["subject"], f["customer"]) for f in book.json("export", "followups")}
    assert ("premium-reminder", "P-000001", "C-000002") in rules
    assert ("claim-first-contact", "CL-000001", "C-000002") in rules


def test_from_to_select_by_each_kinds_own_date(book):
    # customers by created_at: only C-000001 was added on 1 February
    feb = table(book.ok("export", "customers", "--from", "2026-02-01", "--to", "2026-02-28").stdout)
    assert [r["code"] for r in feb] == ["C-000001"]
    assert [r["code"] for r in book.json("export", "customers", "--from", "2026-03-02")] == [
        "C-000002", "C-000003"]
    assert [r["code"] for r in book.json("export", "customers", "--to", "2026-03-01")] == ["C-000001"]
    # installments by due date: 15 Feb and 15 Mar fall in February–March
    inst = book.json("export", "installments", "--from", "2026-02-01", "--to", "2026-03-31")
    assert [(r["seq"], r["due_date"]) for r in inst] == [(2, "2026-02-15"), (3, "2026-03-15")]
    # policies by issued_at (2 March), with their lines and paid count still attached
    assert book.json("export", "policies", "--from", "2026-03-03") == []
    [p] = book.json("export", "policies", "--from", "2026-03-02", "--to", "2026-03-02")
    assert p["lines"].startswith("term-life") and p["paid_installments"] == 2
    [a] = book.json("export", "applications", "--to", "2026-03-02")
    assert a["lines"].endswith("accident:100000.00:300.00")


def test_bad_options(book):
    book.fails(2, "export", "customers", "--from", "2026-03-05", "--to", "2026-03-01",
               expect="--from '2026-03-05': is after --to (2026-03-01)")
    book.fails(2, "export", "customers", "--from", "2026-02-30", expect="--from")
    book.fails(2, "export", "customers", "--format", "json", "--excel", expect="--excel")
    book.fails(2, "export", "customers", "--format", "table")
    book.fails(2, "export", "nothing")


def test_builders_cover_exactly_the_pinned_columns(engine):
    """Each kind's SELECT (plus what its merge adds) gives every pinned column, nothing else."""
    added = {"applications": {"lines"}, "policies": {"lines", "paid_installments"}}
    for kind in export.KINDS:
        _, names, staff_at, _ = export._BUILDERS[kind](since=None, until=None, start=None, end=None)
        got = {n for n in names if n != "_id"} | added.get(kind, set())
        assert got == set(export.COLUMNS[kind]), kind
        staffish = {"owner", "recorded_by", "handler", "assessed_by", "approved_by", "actor",
                    "assignee", "opened_by", "resolved_by", "informed_by", "decided_by",
                    "closed_by"}
        assert {names[i] for i in staff_at} == staffish & set(names), kind


# -- memory --------------------------------------------------------------------------------------

class _Sink:
    """A stdout that counts what it is given and keeps nothing."""

    def __init__(self) -> None:
        self.chars = 0
        self.lines = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        self.lines += text.count("\n")
        return len(text)

    def flush(self) -> None:
        pass


def _fill(engine, owner_id: int, start: int, n: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [{"code": f"C-{k:06d}", "kind": "person", "name": f"客户 {k} with a longer name",
             "phone": "13800000000", "region": "上海", "owner_id": owner_id,
             "address": "上海市南京路 100 号 " * 3, "created_at": at + timedelta(seconds=k),
             "updated_at": at} for k in range(start, start + n)]
    with engine.begin() as conn:
        for i in range(0, n, 1000):
            conn.execute(insert(m.Customer), rows[i:i + 1000])


def _peak(engine, fmt: str) -> tuple[int, int]:
    tz = ZoneInfo("Asia/Shanghai")
    sink = _Sink()
    with db.read(engine) as session:
        out = Output(fmt, tz=tz, stdout=sink)
        tracemalloc.start()
        out.rows(export.rows(session, "customers", tz=tz, payload_as_text=fmt == "csv"),
                 export.COLUMNS["customers"])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, sink.lines


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_memory_stays_flat_as_the_export_grows(engine, staff, fmt):
    """Exporting 14,000 customers takes about the memory of 2,000 (a list of their rows would take
    some 15 MB more): rows are fetched in batches and written one by one."""
    owner = staff["sally"].id
    _fill(engine, owner, 1, 2000)
    _peak(engine, fmt)                      # warm caches (compiled SQL, imports)
    small, n_small = _peak(engine, fmt)
    _fill(engine, owner, 2001, 12000)
    big, n_big = _peak(engine, fmt)
    assert n_big > 6 * n_small
    assert big < small * 1.5 + 300_000, (small, big)
