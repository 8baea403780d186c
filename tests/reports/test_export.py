"""`insurtrack export`: raw records with codes for every foreign key, as a stable csv / json
contract; formula cells neutralised, --excel byte-order mark, Chinese text intact, --from/--to by
each kind's own date, and memory flat in the number of rows (streamed, never a list of rows)."""

from __future__ import annotations

import csv
import io
import json
import os
import tracemalloc
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from insurtrack import db, sqlitelib
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
    rows = table(book.ok("export", "customers", "--reveal").stdout)
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
    line = book.ok("export", "customers", "--reveal").stdout.splitlines()[1]
    assert line.startswith('C-000001,person,"\'=HYPERLINK(""x"")",,\'+86 13800000000,,,,上海,')
    # without --reveal ID and phone numbers are masked (issue 6, privacy.py)
    masked = table(book.ok("export", "customers").stdout)
    assert [(r["id_number"], r["phone"]) for r in masked] == [
        ("", "'+86 1******0000"), ("110101********0019", ""), ("", "")]
    assert [{k: v for k, v in r.items() if k not in ("id_number", "phone")} for r in masked] == [
        {k: v for k, v in r.items() if k not in ("id_number", "phone")} for r in rows]
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
        _, names, staff_at, customer_at, _ = export._BUILDERS[kind](since=None, until=None,
                                                                    start=None, end=None)
        got = {n for n in names if n != "_id"} | added.get(kind, set())
        assert got == set(export.COLUMNS[kind]), kind
        staffish = {"owner", "recorded_by", "handler", "assessed_by", "approved_by", "actor",
                    "assignee", "opened_by", "resolved_by", "informed_by", "decided_by",
                    "closed_by"}
        assert {names[i] for i in staff_at} == staffish & set(names), kind
        assert {names[i] for i in customer_at} == {"customer"} & set(names), kind


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


def _peak(engine, fmt: str, fast: bool | str = False) -> tuple[int, int]:
    tz = ZoneInfo("Asia/Shanghai")
    sink = _Sink()
    with db.read(engine) as session:
        out = Output(fmt, tz=tz, stdout=sink)
        tracemalloc.start()
        if fast == "sql":
            blocks = export.in_sql(session, "customers", tz=tz, render=out.sql_render())
            with closing(blocks):
                out.stream_blocks(export.COLUMNS["customers"], blocks)
        elif fast:
            kinds, at, batches = export.stored(session, "customers", tz=tz)
            with closing(batches):
                out.stream(export.COLUMNS["customers"], kinds, batches, at)
        else:
            out.rows(export.rows(session, "customers", tz=tz, payload_as_text=fmt == "csv"),
                     export.COLUMNS["customers"])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, sink.lines


@pytest.mark.parametrize("fast", [False, True, "sql"], ids=["rows", "stored", "sql"])
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_memory_stays_flat_as_the_export_grows(engine, staff, fmt, fast, monkeypatch):
    """Exporting 14,000 customers takes about the memory of 2,000 (a list of their rows would take
    some 15 MB more): rows are fetched in batches and written one by one (the stored-value path:
    a batch at a time, FAST_BATCH rows, here 500; the SQL path: blocks of SQL_BLOCK rows, here
    100, at most SQL_AHEAD, here 2, waiting per thread)."""
    if fast and engine.dialect.name != "sqlite":
        pytest.skip("the stored-value and SQL paths are SQLite's")
    monkeypatch.setattr(export, "FAST_BATCH", 500)
    monkeypatch.setattr(export, "SQL_BLOCK", 100)
    monkeypatch.setattr(export, "SQL_AHEAD", 2)
    monkeypatch.setattr(sqlitelib, "threads_scale", lambda: True)
    owner = staff["sally"].id
    _fill(engine, owner, 1, 2000)
    _peak(engine, fmt, fast)                # warm caches (compiled SQL, imports)
    small, n_small = _peak(engine, fmt, fast)
    _fill(engine, owner, 2001, 12000)
    big, n_big = _peak(engine, fmt, fast)
    assert n_big > 6 * n_small
    assert big < small * 1.5 + 300_000, (small, big)


# -- the fast path (SQLite): the same bytes as the row-by-row path ------------------------------
# On SQLite `insurtrack export` reads stored values raw and renders a batch at a time
# (export.stored + Output.stream); rows() + Output.rows() is the reference it must equal, byte for
# byte, for every kind, format, window and timezone, on a book full of awkward values.

TEXTS = [None, "", FORMULA, "+86 138", "-5", "@SUM(A1)", "\tx", "\rx", 'say "hi"', "a,b",
         "line\nbreak", "cr\r\nlf", "张伟，上海市南京路", "plain", "'quoted", " lead", "emoji 😀",
         "\u2028sep", "back\\slash", "{}", "null", "=", "x" * 300, "-", "trail,", "nul\x00,cut",
         "\x00", "\x7f\x1b[31m"]
CENTS = [0, 1, -1, 5, -5, 99, 100, -100, 12345, -12345, 123456789012, -123456789012, None]
UTC = timezone.utc
INSTANTS = [
    None,
    datetime(2026, 3, 1, 15, 59, 59, 999999, tzinfo=UTC),   # Shanghai: a breath before midnight
    datetime(2026, 3, 1, 16, 0, tzinfo=UTC),                 # … and midnight
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # year end, microseconds cut
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),            # Berlin: spring forward
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),           # Berlin: fall back (02:59 +02:00)
    datetime(2026, 10, 25, 1, 0, 1, tzinfo=UTC),             # … 02:00:01 +01:00
    datetime(2026, 11, 1, 5, 59, 59, tzinfo=UTC),            # New York: fall back
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 5, 29, 59, tzinfo=UTC),             # St John's (-03:30): spring forward
    datetime(2026, 3, 8, 5, 30, tzinfo=UTC),
    datetime(2026, 4, 4, 14, 59, 59, tzinfo=UTC),            # Lord Howe: half an hour back
    datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
    datetime(1988, 4, 9, 17, 59, 59, tzinfo=UTC),            # Shanghai had summer time then
    datetime(1988, 4, 9, 18, 0, tzinfo=UTC),
    datetime(1988, 9, 10, 16, 30, tzinfo=UTC),
    datetime(1988, 10, 30, 2, 0, 30, tzinfo=UTC),            # Goose Bay: its clocks changed at
    datetime(1988, 10, 30, 2, 30, tzinfo=UTC),               # 00:01, in the middle of a UTC hour
    datetime(1900, 1, 1, 0, 0, tzinfo=UTC),                  # local mean time: offsets in seconds
    datetime(2100, 6, 1, 12, 34, 56, 500000, tzinfo=UTC),
    datetime(2026, 7, 1, 4, 5, 6, tzinfo=UTC),
]
DATES = [None, date(2026, 3, 1), date(1900, 1, 1), date(2099, 12, 31), date(2024, 2, 29)]
INTS = [0, 1, -1, 2 ** 40, None, 12, 18, 240]
BOOLS = [None, True, False]
PAYLOADS = [{}, {"a": 1, "b": None}, {"名": "值", "s": "=x", "f": 1.5, "l": [1, "二", {"k": []}],
                                       "t": "tab\there", "q": 'say "hi"'}, [], "text", -1, None,
            {"nested": {"deep": [1.25e-7, True, False]}}, "=cmd", 12345678901234567890]
ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "America/St_Johns",
         "Australia/Lord_Howe", "Asia/Kathmandu", "America/Goose_Bay", "UTC"]
# What the program writes in these columns (codes, states) is kept as the book has it.
KEPT = {"code", "status", "frequency", "kind", "credit_rating", "risk_level", "method",
        "complexity", "payment_method", "channel", "department", "type", "subject", "decision",
        "rule", "rule_fp", "pauses", "history"}
TABLES = [m.Customer, m.Application, m.ApplicationLine, m.Policy, m.PolicyLine, m.Installment,
          m.Payment, m.Claim, m.Revisit, m.Feedback, m.Event, m.FollowUp]


def _awkward(column, n: int):
    """The n-th awkward value for a column, by its type (None only where it may be null)."""
    from sqlalchemy import JSON, Boolean, Date, Integer, String

    from insurtrack.domain.types import Fixed, UTCDateTime

    t = column.type
    if isinstance(t, UTCDateTime):
        pool = INSTANTS
    elif isinstance(t, Fixed):
        pool = [None if c is None else D(c).scaleb(-2) for c in CENTS]
    elif isinstance(t, Boolean):
        pool = BOOLS
    elif isinstance(t, Date):
        pool = DATES
    elif isinstance(t, Integer):
        pool = INTS
    elif isinstance(t, JSON):
        pool = PAYLOADS
    elif isinstance(t, String):
        pool = TEXTS
    else:
        raise AssertionError(f"no awkward values for {column}")
    pool = [v for v in pool if v is not None or column.nullable]
    return pool[n % len(pool)]


@pytest.fixture
def awkward(book, engine):
    """The `book` plus, for every table an export reads, 23 copies of its first row with every
    column a person could have typed (text, money, instants, dates, numbers, flags, payloads)
    set to awkward values, foreign keys kept or emptied; some policies with no, one or three
    product lines (awkward names) and some installments paid."""
    with engine.begin() as conn:
        made: dict[str, list[int]] = {}
        for table in (t.__table__ for t in TABLES):
            first = conn.execute(select(table).order_by(table.c.id).limit(1)).mappings().one()
            rows = []
            for n in range(23):
                row = dict(first)
                del row["id"]
                for k, col in enumerate(table.columns):
                    name = col.name
                    if name == "id" or name in KEPT and name != "code":
                        continue
                    if name == "code":
                        head = first["code"].split("-")[0]
                        row[name] = f"{head}-{900000 + n:06d}"
                    elif col.foreign_keys:
                        keep = not col.nullable or n % 3 or name == "renewed_from_id"
                        row[name] = first[name] if keep and name != "renewed_from_id" else None
                        if name in ("policy_id", "application_id") and table.name in (
                                "policy_line", "application_line", "installment"):
                            row[name] = first[name]
                    elif name == "seq":
                        row[name] = 100 + n
                    else:
                        row[name] = _awkward(col, n + 3 * k)
                rows.append(row)
            if table.name in ("policy_line", "application_line", "installment"):
                # spread over the copied records: none, one or three lines; paid or not
                owner = "policy_id" if table.name != "application_line" else "application_id"
                targets = made["policy" if owner == "policy_id" else "application"]
                rows = [dict(r, **{owner: targets[(n * 5) % len(targets)]})
                        for n, r in enumerate(rows) if (n * 5) % len(targets) % 4 != 1]
                if table.name == "installment":
                    for n, r in enumerate(rows):
                        r["status"] = "paid" if n % 2 else "due"
            conn.execute(insert(table), rows)
            made[table.name] = list(conn.execute(select(table.c.id).order_by(table.c.id)).scalars())
    return book


def _old(session, kind: str, fmt: str, tz, start=None, end=None, mask=False) -> str:
    buf = io.StringIO()
    out = Output(fmt, tz=tz, stdout=buf)
    out.rows(export.rows(session, kind, start=start, end=end, tz=tz,
                         payload_as_text=fmt == "csv", mask=mask), export.COLUMNS[kind])
    return buf.getvalue()


def _new(session, kind: str, fmt: str, tz, start=None, end=None, mask=False) -> str:
    buf = io.StringIO()
    out = Output(fmt, tz=tz, stdout=buf)
    fast = export.stored(session, kind, start=start, end=end, tz=tz, mask=mask)
    if fast is None:  # masked events: the row path (a payload is masked decoded)
        return _old(session, kind, fmt, tz, start, end, mask)
    kinds, at, batches = fast
    with closing(batches):
        out.stream(export.COLUMNS[kind], kinds, batches, at)
    return buf.getvalue()


def _sql(session, kind: str, fmt: str, tz, start=None, end=None, mask=False, excel=False,
         binary=True) -> str:
    """What `export` writes on SQLite: rows rendered by SQLite (export.in_sql), written as
    bytes under a text stream (binary) or decoded into a StringIO."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8", newline="") if binary else io.StringIO()
    out = Output(fmt, tz=tz, stdout=stdout, excel=excel)
    blocks = export.in_sql(session, kind, start=start, end=end, tz=tz, mask=mask,
                           render=out.sql_render())
    assert blocks is not None  # a SQLite file: every kind, masked or not
    with closing(blocks):
        out.stream_blocks(export.COLUMNS[kind], blocks)
    if not binary:
        return stdout.getvalue()
    stdout.flush()
    return raw.getvalue().decode()


@pytest.fixture
def threads(monkeypatch):
    """The SQL path in blocks of 7 records, rendered by two threads (as where SQLite's threads
    run in parallel, sqlitelib.py): lines and counts across block edges, blocks put in order."""
    monkeypatch.setattr(export, "SQL_BLOCK", 7)
    monkeypatch.setattr(export, "SQL_THREADS", 2)
    monkeypatch.setattr(sqlitelib, "threads_scale", lambda: True)


@pytest.mark.skipif(bool(os.environ.get("INSURTRACK_TEST_DATABASE_URL")),
                    reason="the stored-value path is SQLite's; PostgreSQL takes rows()")
@pytest.mark.parametrize("zone", ZONES)
def test_fast_path_writes_the_same_bytes_as_the_row_path(awkward, engine, zone, monkeypatch,
                                                         threads):
    """Both SQLite paths — stored values rendered in Python (stored), rows rendered by SQLite
    (in_sql) — write what rows() + Output.rows() write, in every timezone: fixed offsets, summer
    time, half and quarter hours, local mean time (offsets in seconds)."""
    monkeypatch.setattr(export, "FAST_BATCH", 7)  # many batches: lines and paid across edges
    tz = ZoneInfo(zone)
    with db.read(engine) as session:
        for kind in export.KINDS:
            for fmt in ("csv", "json"):
                old = _old(session, kind, fmt, tz)
                assert old.count("\n") > 20, (kind, fmt)  # the awkward rows are there
                assert _new(session, kind, fmt, tz) == old, (kind, fmt, zone)
                assert _sql(session, kind, fmt, tz) == old, (kind, fmt, zone)
                masked = _old(session, kind, fmt, tz, mask=True)  # ID and phone masked (issue 6)
                assert _new(session, kind, fmt, tz, mask=True) == masked, (kind, fmt, zone)
                assert _sql(session, kind, fmt, tz, mask=True) == masked, (kind, fmt, zone)
                if kind in ("customers", "claims"):
                    assert masked != old and "*" in masked, kind
        for start, end in ((date(2026, 3, 1), date(2026, 3, 2)), (None, date(2026, 3, 1)),
                           (date(2026, 3, 2), None), (date(2030, 1, 1), None)):
            for kind in export.KINDS:
                old = _old(session, kind, "csv", tz, start, end)
                assert _new(session, kind, "csv", tz, start, end) == old, (kind, start, end)
                assert _sql(session, kind, "csv", tz, start, end) == old, (kind, start, end)


@pytest.mark.skipif(bool(os.environ.get("INSURTRACK_TEST_DATABASE_URL")),
                    reason="the stored-value path is SQLite's; PostgreSQL takes rows()")
def test_fast_path_keeps_the_excel_mark_and_the_cli_takes_it(awkward, engine):
    tz = ZoneInfo("Asia/Shanghai")
    with db.read(engine) as session:
        buf = io.StringIO()
        kinds, at, batches = export.stored(session, "customers", tz=tz)
        Output("csv", tz=tz, stdout=buf, excel=True).stream(export.COLUMNS["customers"], kinds,
                                                            batches, at)
        assert buf.getvalue() == "\ufeff" + _old(session, "customers", "csv", tz)
        for kind in export.KINDS:  # (bytes: CliRunner's .stdout turns \r\n into \n)
            assert (awkward.ok("export", kind).stdout_bytes
                    == _old(session, kind, "csv", tz, mask=True).encode()), kind
            assert (awkward.ok("export", kind, "--format", "json").stdout_bytes
                    == _old(session, kind, "json", tz, mask=True).encode()), kind


def test_postgresql_takes_the_row_path(engine):
    """stored() and in_sql() answer only for SQLite; elsewhere the command renders rows()."""
    tz = ZoneInfo("Asia/Shanghai")
    with db.read(engine) as session:
        got = export.stored(session, "customers", tz=tz)
        blocks = export.in_sql(session, "customers", tz=tz, render=Output("csv").sql_render())
    assert (got is None) == (engine.dialect.name != "sqlite")
    assert (blocks is None) == (engine.dialect.name != "sqlite")
    if blocks is not None:
        blocks.close()


# -- the SQL path (SQLite's default): rows rendered by SQLite ------------------------------------

@pytest.mark.skipif(bool(os.environ.get("INSURTRACK_TEST_DATABASE_URL")),
                    reason="the SQL path is SQLite's; PostgreSQL takes rows()")
def test_sql_path_excel_mark_text_stream_and_windows(awkward, engine, threads):
    """--excel's mark before the header; the same bytes written to a byte stream or decoded
    into a text stream; --from/--to by each kind's own date in a timezone with summer time."""
    tz = ZoneInfo("America/New_York")
    with db.read(engine) as session:
        for kind in export.KINDS:
            old = _old(session, kind, "csv", tz, mask=True)
            assert _sql(session, kind, "csv", tz, mask=True, excel=True) == "\ufeff" + old
            assert _sql(session, kind, "csv", tz, mask=True, binary=False) == old, kind
            json_old = _old(session, kind, "json", tz)
            assert _sql(session, kind, "json", tz, binary=False) == json_old, kind
            for start, end in ((date(2026, 3, 2), date(2026, 3, 2)), (date(2026, 3, 3), None)):
                assert (_sql(session, kind, "json", tz, start, end)
                        == _old(session, kind, "json", tz, start, end)), (kind, start, end)


UTC_TIMES = st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2150, 1, 1),
                         timezones=st.just(UTC))
NEAR_MIDNIGHT = st.builds(  # around local midnight in Shanghai and New York, in recent years
    lambda day, zone, seconds: (datetime.combine(day, datetime.min.time(), ZoneInfo(zone))
                                + timedelta(seconds=seconds)).astimezone(UTC),
    st.dates(date(1985, 1, 1), date(2040, 12, 31)),
    st.sampled_from(["Asia/Shanghai", "America/New_York"]),
    st.floats(-2.0, 2.0).map(lambda s: round(s, 6)))
TEXT = st.one_of(st.sampled_from([t for t in TEXTS if t is not None]),
                 st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                 st.text(st.sampled_from('=+-@\t\r\n",\'; \x00a张'), max_size=6))
CENTS_ANY = st.one_of(st.integers(-10**4, 10**4), st.integers(-10**17, 10**17))


@pytest.mark.skipif(bool(os.environ.get("INSURTRACK_TEST_DATABASE_URL")),
                    reason="the SQL path is SQLite's; PostgreSQL takes rows()")
@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_sql_path_writes_what_the_row_path_writes_for_any_values(awkward, engine, threads,
                                                                 data):
    """Whatever a policy, its product line and a customer hold — text of any characters (NUL
    too), amounts of any size and sign, instants from 1890 to 2150 and around midnight, terms
    of any number of months — the SQL path writes the row path's bytes, in csv and json, masked
    or not, in a zone drawn from ZONES."""
    zone = data.draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    p, pl, c = m.Policy.__table__, m.PolicyLine.__table__, m.Customer.__table__
    money = CENTS_ANY.map(lambda cents: D(cents).scaleb(-2))
    instant = st.one_of(UTC_TIMES, NEAR_MIDNIGHT)
    with engine.begin() as conn:
        pid = conn.execute(select(p.c.id).order_by(p.c.id)).scalars().first()
        conn.execute(update(p).where(p.c.id == pid).values(
            conditions=data.draw(st.one_of(st.none(), TEXT)), cancel_reason=data.draw(TEXT),
            premium=data.draw(money), sum_insured=data.draw(money),
            rate_loading=data.draw(st.one_of(st.none(), money)),
            term_months=data.draw(st.integers(-30, 400)), issued_at=data.draw(instant),
            in_force_at=data.draw(st.one_of(st.none(), instant)),
            expired_at=data.draw(instant)))
        conn.execute(update(pl).where(pl.c.policy_id == pid).values(
            product=data.draw(TEXT), sum_insured=data.draw(money), premium=data.draw(money)))
        cid = conn.execute(select(c.c.id).order_by(c.c.id)).scalars().first()
        conn.execute(update(c).where(c.c.id == cid).values(
            name=data.draw(TEXT), phone=data.draw(st.one_of(st.none(), TEXT)),
            id_number=data.draw(st.one_of(st.none(), TEXT)), rated_at=data.draw(instant)))
    with db.read(engine) as session:
        for kind, fmt, mask in (("policies", "csv", False), ("policies", "json", False),
                                ("customers", "csv", True), ("customers", "json", False)):
            assert (_sql(session, kind, fmt, tz, mask=mask)
                    == _old(session, kind, fmt, tz, mask=mask)), (kind, fmt, zone)


@pytest.mark.skipif(bool(os.environ.get("INSURTRACK_TEST_DATABASE_URL")),
                    reason="the SQL path is SQLite's")
def test_the_command_in_a_process_of_its_own_writes_the_same_bytes(awkward, engine, db_url,
                                                                   config_file, tmp_path):
    """`python -m insurtrack export` as people run it (SQLite's statistics off, two threads
    where there are two processors) writes what the row path writes."""
    import subprocess
    import sys

    env = {**os.environ, "INSURTRACK_DB": db_url.removeprefix("sqlite:///"),
           "INSURTRACK_CONFIG": str(config_file), "INSURTRACK_USER": "boss",
           "INSURTRACK_NOW": "2026-03-02T09:00:00+08:00", "NO_COLOR": "1",
           "INSURTRACK_CACHE_DIR": str(tmp_path / "cache")}
    tz = ZoneInfo("Asia/Shanghai")
    for kind in ("policies", "customers"):
        got = subprocess.run([sys.executable, "-m", "insurtrack", "export", kind],
                             capture_output=True, env=env, timeout=120)
        assert got.returncode == 0, got.stderr
        with db.read(engine) as session:
            assert got.stdout == _old(session, kind, "csv", tz, mask=True).encode(), kind
