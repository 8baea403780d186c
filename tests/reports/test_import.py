"""`insurtrack import customers|policies|payments`: documented columns, every row checked with the
commands' parsers and rules, errors as FILE:LINE:COLUMN, all or nothing (or --skip-bad), --map,
duplicate codes, imported records with the events and follow-ups the commands give them, and
export → import round trips into an empty book.

Files are written in the test's folder and named relatively, so messages read `book.csv:3:phone`.
The clock reads Monday 2 March 2026, 09:00 in Shanghai."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from insurtrack.domain import models as m
from tests import factories


@pytest.fixture(autouse=True)
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def put(name: str, text: str | bytes, *, bom: bool = False) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with open(name, "wb") as f:
        f.write((b"\xef\xbb\xbf" if bom else b"") + data)
    return name


def events(engine, subject: str) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        return [(t, p) for t, p in conn.execute(
            select(m.Event.type, m.Event.payload).where(m.Event.subject == subject)
            .order_by(m.Event.id))]


def open_rules(engine) -> set[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return {(r, s, a) for r, s, a in conn.execute(
            select(m.FollowUp.rule, m.FollowUp.subject, m.FollowUp.anchor_ref)
            .where(m.FollowUp.status == "open"))}


def lines_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line]


@pytest.fixture
def li(work):
    """C-000001 Li Na, owned by sally."""
    with work("sally") as w:
        return factories.customer(w).code


# -- customers ------------------------------------------------------------------------------------

def test_customers_are_added_with_their_events_codes_and_ratings(cli, engine):
    put("customers.csv",
        "code,name,kind,id_number,phone,email,birth_date,region,source,owner,credit_rating,"
        "risk_level,created_at\r\n"
        "C-000010,张伟,person,110101198506150019,13800000000,zw@example.com,1985-06-15,上海,"
        "referral,sid,a,HIGH,2025-06-01 10:00\r\n"
        ",Acme 贸易,Company,,,,2001-01-01,北京,,sally,,,\r\n"
        "\r\n"
        ",'=SUM(A1),,,'+86 139 0000,,,,,,,,\r\n", bom=True)
    done = cli.ok("import", "customers", "customers.csv")
    assert done.stdout == ""
    assert lines_of(done.stderr) == ["imported 3 customer(s) from customers.csv: C-000010 to C-000012"]
    rows = cli.json("export", "customers", "--reveal")
    assert [(r["code"], r["name"], r["kind"], r["owner"], r["region"]) for r in rows] == [
        ("C-000010", "张伟", "person", "sid", "上海"),
        ("C-000011", "Acme 贸易", "company", "sally", "北京"),
        ("C-000012", "=SUM(A1)", "person", "boss", None)]  # our export's neutralising ' is undone
    zw = rows[0]
    assert (zw["id_number"], zw["phone"], zw["email"], zw["birth_date"], zw["source"]) == (
        "110101198506150019", "13800000000", "zw@example.com", "1985-06-15", "referral")
    assert (zw["credit_rating"], zw["risk_level"], zw["rating_reason"], zw["rated_at"],
            zw["created_at"]) == ("A", "high", "imported from customers.csv",
                                  "2025-06-01T10:00:00+08:00", "2025-06-01T10:00:00+08:00")
    assert rows[1]["created_at"] == "2026-03-02T09:00:00+08:00" and rows[2]["phone"] == "+86 139 0000"
    # the events the command gives, marked as imported from the file
    assert [t for t, _ in events(engine, "C-000010")] == ["customer.added", "customer.rated"]
    added = events(engine, "C-000011")[0][1]
    assert (added["imported"], added["file"], added["name"], added["owner"]) == (
        True, "customers.csv", "Acme 贸易", "sally")
    # the codes continue after the highest one in use
    assert "C-000013" in cli.ok("customer", "add", "Next One", "--owner", "sally").stdout


def test_customer_codes_and_id_numbers_must_be_free(cli, li, engine):
    put("dupes.csv",
        "code,name,id_number,owner\n"
        "C-000001,Taken,,sally\n"                       # C-000001 is Li Na's
        "C-000002,First,110101198506150019,sally\n"
        "c-000002,Again,,sally\n"                       # same code as line 3
        ",Twin,110101198506150019,sally\n")             # same ID number as line 3
    result = cli.fails(2, "import", "customers", "dupes.csv")
    assert lines_of(result.stderr) == [
        "dupes.csv:2:code: C-000001 is already a customer in the book",
        "dupes.csv:4:code: C-000002 is also on line 3",
        "dupes.csv:5:id_number: ID number 110101198506150019 is also on line 3",
        "error: 3 row(s) of dupes.csv are bad; nothing was imported (fix them, or import the "
        "other rows with --skip-bad REJECTS.csv)"]
    cli.ok("customer", "edit", "C-000001", "--id-number", "110101198506150019")
    put("again.csv", "name,id_number,owner\nWang,110101198506150019,sally\n")
    cli.fails(2, "import", "customers", "again.csv",
              expect="again.csv:2:id_number: customer C-000001 already has ID number "
                     "110101198506150019")


def test_every_bad_cell_is_named_by_line_and_column_and_nothing_is_written(cli, li):
    put("book.csv",
        "code,name,owner,phone,birth_date,email,credit_rating,kind,created_at\n"
        "C-1,Li,sally,12ab,2026-02-30,x@,E,alien,\n"
        "C-000002,,nobody,,,,,,\n"
        "C-000003,Wang,uma,,2030-01-01,,,,2026-03-02 10:00\n"
        "C-000004,Zhao,sally,,,,,,\n"
        "C-000005,\"Sun\nthe younger\",sam,,,,,,\n"
        "C-000006,Qian,,,,,,,\n"
        "C-000007,Zhou,sally,,,,,,,\n")
    # sally's row (line 6) is fine, but nothing is imported while any row is bad
    result = cli.fails(2, "import", "customers", "book.csv", as_="boss")
    assert lines_of(result.stderr) == [
        "book.csv:2:code: 'C-1' is not a code like C-000123",
        "book.csv:2:phone: '12ab' is not a phone number (digits, spaces, +, -, parentheses)",
        "book.csv:2:birth_date: '2026-02-30' is not a real calendar date",
        "book.csv:2:email: 'x@' is not an email address",
        "book.csv:2:credit_rating: 'E' is not one of: A, B, C, D",
        "book.csv:2:kind: 'alien' is not one of: person, company",
        "book.csv:3:name: is required",
        "book.csv:3:owner: no staff member 'nobody'",
        "book.csv:4:owner: 'uma' is in underwriting; an owner works in sales",
        "book.csv:4:birth_date: '2030-01-01' is in the future",
        "book.csv:4:created_at: '2026-03-02 10:00' is in the future; a step can only be "
        "recorded when it has happened",
        "book.csv:6:owner: 'sam' is in service; an owner works in sales",
        # (line 8 names no owner: the importer, a manager (only managers import), owns it)
        "book.csv:9:10: unexpected value '': the line has 10 fields, the header has 9",
        "error: 5 row(s) of book.csv are bad; nothing was imported (fix them, or import the "
        "other rows with --skip-bad REJECTS.csv)"]


def test_a_broken_file_is_reported_where_it_breaks(cli, li):
    put("quotes.csv", 'name,owner,notes\nLi,sally,fine\nWang,sally,"said ""hi"""\n'
                      'Zhao,sally,"called"twice\nSun,"sally,never closed\nQian,sally,\n')
    result = cli.fails(2, "import", "customers", "quotes.csv")
    assert lines_of(result.stderr) == [
        'quotes.csv:4:notes: text follows the closing quote of a quoted value (write "" for a '
        "quote inside a quoted value)",
        'quotes.csv:5:owner: a quoted value is never closed (a " without its partner): the rest '
        "of the file cannot be read",
        "error: quotes.csv cannot be imported; nothing was imported"]
    put("fields.csv", "name,owner,region\nLi,sally\nWang,sally,上海,extra\n")
    result = cli.fails(2, "import", "customers", "fields.csv")
    assert lines_of(result.stderr)[:2] == [
        "fields.csv:2:region: missing: the line has 2 fields, the header has 3",
        "fields.csv:3:4: unexpected value 'extra': the line has 4 fields, the header has 3"]
    # a spreadsheet saved in GBK instead of UTF-8: the line and the cell with the first bad byte
    put("gbk.csv", "name,owner\n".encode() + "Li,sally\n".encode() + "张伟,sally\n".encode("gbk"))
    result = cli.fails(2, "import", "customers", "gbk.csv")
    assert lines_of(result.stderr)[0] == (
        "gbk.csv:3:name: is not UTF-8 text (byte 0xd5); save the file as UTF-8 (in Excel: CSV UTF-8)")


def test_header_problems(cli):
    put("empty.csv", "")
    cli.fails(2, "import", "customers", "empty.csv",
              expect="empty.csv:1: the file is empty; its first line must name the columns")
    put("header.csv", "Kunde,name,Name,phone\nx,Li,Li,1\n")
    result = cli.fails(2, "import", "customers", "header.csv")
    assert lines_of(result.stderr)[:2] == [
        "header.csv:1:Kunde: unknown column; the customers columns are code, kind, name, "
        "id_number, phone, email, address, birth_date, region, source, owner, credit_rating, "
        "risk_level, rating_reason, rated_at, notes, created_at (rename yours with --map "
        "'THEIR HEADER=column')",
        "header.csv:1:Name: is column name again (also 'name')"]
    put("policies.csv", "customer,term\nC-000001,1y\n")
    result = cli.fails(2, "import", "policies", "policies.csv")
    assert lines_of(result.stderr)[:5] == [
        "policies.csv:1:frequency: missing: this column is required",
        "policies.csv:1:effective_date: missing: this column is required",
        "policies.csv:1:product: missing: give product, sum_insured and premium, or a lines column",
        "policies.csv:1:sum_insured: missing: give product, sum_insured and premium, or a lines "
        "column",
        "policies.csv:1:premium: missing: give product, sum_insured and premium, or a lines column"]
    cli.fails(2, "import", "customers", "nothing-here.csv",
              expect="FILE 'nothing-here.csv': is not a file")
    cli.fails(2, "import", "customers", "header.csv", "--map", "Kunde",
              expect="--map 'Kunde': is not THEIR HEADER=our_column")
    cli.fails(2, "import", "customers", "header.csv", "--map", "Kunde=kunde",
              expect="'kunde' is not a column of the customers import")
    cli.fails(2, "import", "customers", "header.csv", "--map", "Client=name",
              expect="--map 'client': header.csv has no column with this header")


def test_map_reads_their_headers_as_our_columns(cli):
    put("客户.csv", "客户姓名,Sales Rep,电话,=weird\n王芳,sally,13900000000,ignored?\n")
    cli.fails(2, "import", "customers", "客户.csv", "--map", "客户姓名=name",
              "--map", "sales rep=owner", "--map", "电话=phone",
              expect="客户.csv:1:=weird: unknown column")
    put("客户.csv", "客户姓名,Sales Rep,电话\n王芳,sally,13900000000\n")
    cli.ok("import", "customers", "客户.csv", "--map", "客户姓名=name", "--map", "sales rep=owner",
           "--map", "电话=phone")
    [c] = cli.json("export", "customers", "--reveal")
    assert (c["name"], c["owner"], c["phone"]) == ("王芳", "sally", "13900000000")
    # errors name their header, not ours
    put("bad.csv", "客户姓名,Sales Rep\n王五,nobody\n")
    cli.fails(2, "import", "customers", "bad.csv", "--map", "客户姓名=name",
              "--map", "Sales Rep=owner", expect="bad.csv:2:Sales Rep: no staff member 'nobody'")


def test_skip_bad_writes_the_rejects_with_reasons_and_imports_the_rest(cli, engine):
    put("mixed.csv", "name,owner,phone\nGood One,sally,13800000000\nBad Phone,sally,12ab\n"
                     "Good Two,sid,\n,sally,\nShort,sally\n")
    done = cli.ok("import", "customers", "mixed.csv", "--skip-bad", "rejects.csv")
    assert lines_of(done.stderr) == [
        "mixed.csv:3:phone: '12ab' is not a phone number (digits, spaces, +, -, parentheses)",
        "mixed.csv:5:name: is required",
        "mixed.csv:6:phone: missing: the line has 2 fields, the header has 3",
        "imported 2 customer(s) from mixed.csv: C-000001 to C-000002",
        "3 row(s) rejected, written with their reasons to rejects.csv"]
    assert [c["name"] for c in cli.json("export", "customers")] == ["Good One", "Good Two"]
    with open("rejects.csv", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            ["name", "owner", "phone", "error"],
            ["Bad Phone", "sally", "12ab", "line 3: phone: '12ab' is not a phone number (digits, "
                                           "spaces, +, -, parentheses)"],
            ["", "sally", "", "line 5: name: is required"],
            ["Short", "sally", "", "line 6: phone: missing: the line has 2 fields, the header has 3"]]
    # fixed, the rejects file imports as it is (its error column is ignored)
    put("rejects.csv", "name,owner,phone,error\nBad Phone,sally,13800000001,line 3: …\n")
    cli.ok("import", "customers", "rejects.csv")
    assert len(cli.json("export", "customers")) == 3
    cli.fails(2, "import", "customers", "rejects.csv", "--skip-bad", "rejects.csv",
              expect="is the file being imported")


def test_dry_run_checks_and_writes_nothing(cli, engine):
    put("c.csv", "name,owner\nLi,sally\nWang,nobody\n")
    before = cli.ok("export", "events").stdout
    done = cli.ok("import", "customers", "c.csv", "--dry-run", "--skip-bad", "r.csv")
    assert lines_of(done.stderr) == [
        "c.csv:3:owner: no staff member 'nobody'",
        "c.csv: 1 customer(s) would be imported; nothing was written (--dry-run)",
        "1 row(s) rejected, written with their reasons to r.csv"]
    assert cli.json("export", "customers") == [] and cli.ok("export", "events").stdout == before
    cli.fails(2, "import", "customers", "c.csv", "--dry-run", expect="c.csv:3:owner")


# -- policies -------------------------------------------------------------------------------------

def test_an_in_force_policy_gets_its_schedule_events_and_follow_ups(cli, li, engine):
    """Monthly, 1 200.00 a year from 15 January: 12 installments of 100.00, two paid; the next
    falls due on 15 March, so its T7 reminder is due 7 days before, on 8 March."""
    put("policies.csv",
        "code,customer,product,sum_insured,premium,frequency,term,effective_date,paid_installments\n"
        "P-000007,c-000001,Term-Life,500000,1200,monthly,1y,2026-01-15,2\n")
    done = cli.ok("import", "policies", "policies.csv")
    assert lines_of(done.stderr) == ["imported 1 policy(ies) from policies.csv: P-000007"]
    doc = cli.json("policy", "show", "P-000007")
    assert (doc["status"], doc["customer"], doc["owner"], doc["premium"], doc["outstanding"],
            doc["effective"], doc["expiry"]) == ("in_force", "C-000001", "sally", "1200.00",
                                                 "1000.00", "2026-01-15", "2027-01-14")
    assert doc["lines"] == [{"product": "term-life", "sum_insured": "500000.00",
                             "premium": "1200.00"}]
    assert [(s["seq"], s["due_date"], s["amount"], s["status"]) for s in doc["schedule"][:3]] == [
        (1, "2026-01-15", "100.00", "paid"), (2, "2026-02-15", "100.00", "paid"),
        (3, "2026-03-15", "100.00", "due")]
    assert [t for t, _ in events(engine, "P-000007")] == ["policy.issued", "premium.paid",
                                                          "policy.in_force"]
    assert all(p["imported"] is True and p["file"] == "policies.csv"
               for _, p in events(engine, "P-000007"))
    assert {(r, s) for r, s, _ in open_rules(engine)} == {
        ("premium-reminder", "P-000007"), ("premium-overdue", "P-000007"),
        ("first-contact", "P-000007"), ("renewal-reminder", "P-000007"),
        ("quarterly-revisit", "C-000001")}
    assert ("premium-reminder", "P-000007", "3") in open_rules(engine)
    board = cli.json("due", "--now", "2026-03-08 09:00")
    reminder = next(r for r in board if r["rule"] == "premium-reminder")
    assert (reminder["subject"], reminder["customer"], reminder["due_at"]) == (
        "P-000007", "C-000001", "2026-03-09T00:00:00+08:00")
    # the sequence is left at the imported code: the next policy issued will be P-000008
    with cli.engine.connect() as conn:
        assert conn.execute(select(m.Sequence.value).where(m.Sequence.name == "policy")).scalar() == 7


def test_lines_with_rate_loading_paid_to_and_an_issued_policy(cli, li, engine):
    """Row 2: quarterly for 2 years, lines 1200 + 300 with a 10% loading → 1650.00 a year, 412.50
    a quarter; paid to 1 April → the installments of 1 January and 1 April are paid.
    Row 3: issued, nothing paid: only policy.issued and no follow-up."""
    put("p.csv",
        "customer,owner,lines,rate_loading,premium,sum_insured,frequency,term,effective_date,"
        "paid_to,status\n"
        "C-000001,sid,term-life:500000:1200;ACCIDENT:100000:300,10,1650.00,600000,quarterly,2y,"
        "2026-01-01,2026-04-01,\n"
        "C-000001,,whole-life:100000:5000,,,,annual,10y,2026-03-01,,issued\n")
    cli.ok("import", "policies", "p.csv")
    one, two = cli.json("export", "policies")
    assert (one["code"], one["owner"], one["status"], one["premium"], one["sum_insured"],
            one["rate_loading"], one["lines"], one["paid_installments"], one["term"]) == (
        "P-000001", "sid", "in_force", "1650.00", "600000.00", "10.00",
        "term-life:500000.00:1200.00;accident:100000.00:300.00", 2, "2y")
    assert [(i["seq"], i["amount"], i["status"]) for i in cli.json("export", "installments")
            if i["policy"] == "P-000001"][:3] == [(1, "412.50", "paid"), (2, "412.50", "paid"),
                                                 (3, "412.50", "due")]
    assert (two["code"], two["owner"], two["status"], two["premium"], two["paid_installments"],
            two["expiry_date"]) == ("P-000002", "sally", "issued", "5000.00", 0, "2036-02-29")
    assert [t for t, _ in events(engine, "P-000002")] == ["policy.issued"]
    assert not [r for r in open_rules(engine) if r[1] == "P-000002"]


def test_suspended_expired_and_cancelled_policies(cli, li, engine):
    """Row 2: monthly from 1 Nov 2025, one paid: 1 Dec is 91 days unpaid on 2 March (> 60 days'
    grace, art. 36) → suspended. Row 3: cover ended 31 Dec 2024 → expired. Row 4: cancelled."""
    put("p.csv",
        "customer,product,sum_insured,premium,frequency,term,effective_date,paid_installments,"
        "status,cancel_reason,cancelled_at,issued_at\n"
        "C-000001,accident,100000,1200,monthly,1y,2025-11-01,1,suspended,,,\n"
        "C-000001,accident,100000,1200,annual,1y,2024-01-01,1,expired,,,\n"
        "C-000001,accident,100000,1200,annual,1y,2026-01-01,,cancelled,moved abroad,"
        "2026-03-02 08:00,2026-02-20\n")
    cli.ok("import", "policies", "p.csv")
    got = [(p["code"], p["status"], p["cancel_reason"], p["cancelled_at"])
           for p in cli.json("export", "policies")]
    assert got == [("P-000001", "suspended", None, None), ("P-000002", "expired", None, None),
                   ("P-000003", "cancelled", "moved abroad", "2026-03-02T08:00:00+08:00")]
    assert [t for t, _ in events(engine, "P-000001")] == [
        "policy.issued", "premium.paid", "policy.in_force", "policy.suspended"]
    live = {(r, s) for r, s, _ in open_rules(engine)}
    assert ("premium-reminder", "P-000001") not in live  # cancelled by policy.suspended


def test_policy_rows_are_checked_like_the_commands(cli, li, work):
    with work("sally") as w:
        factories.policy(w, factories.customer(w, name="Wang"))  # P-000001
    put("p.csv",
        "code,customer,product,sum_insured,premium,frequency,term,effective_date,"
        "paid_installments,status,owner,lines,expiry_date\n"
        "P-000001,C-000099,life,0,12x,weekly,7q,2026-13-01,-1,gone,carl,,\n"
        ",C-000001,term-life,1000,100,quarterly,7m,2026-01-01,,,,,\n"
        ",C-000001,term-life,1000,100,monthly,1y,2026-01-01,13,,,,\n"
        ",C-000001,term-life,1000,100,monthly,1y,2026-01-01,1,issued,,,\n"
        ",C-000001,term-life,1000,100,monthly,1y,2026-01-01,0,in_force,,,\n"
        ",C-000001,term-life,1000,100,monthly,1y,2026-01-01,2,suspended,,,\n"
        ",C-000001,term-life,1000,100,annual,1y,2025-06-01,1,expired,,,\n"
        ",C-000001,,,,monthly,1y,2026-01-01,,,,term-life:1000:100;auto:x:1,\n"
        ",C-000001,,,,annual,1y,2026-01-31,,,,accident:1000:100,2027-01-31\n"
        "P-000005,C-000001,term-life,1000,100,annual,1y,2026-01-01,,,,,\n"
        "p-000005,C-000001,term-life,1000,100,annual,1y,2026-01-01,,,,,\n")
    result = cli.fails(2, "import", "policies", "p.csv")
    assert lines_of(result.stderr)[:-1] == [
        "p.csv:2:code: P-000001 is already a policy in the book",
        "p.csv:2:customer: no customer 'C-000099' in the book (import the customers first)",
        "p.csv:2:product: 'life' is not a product; valid products: term-life, whole-life, "
        "critical-illness, medical, accident, auto, property, liability",
        "p.csv:2:sum_insured: '0' must be more than zero",
        "p.csv:2:premium: '12x' is not an amount (digits with at most two decimals, e.g. 1200.50)",
        "p.csv:2:frequency: 'weekly' is not one of: single, annual, semi-annual, quarterly, monthly",
        "p.csv:2:term: '7q' is not a term (e.g. 1y, 20y, 6m)",
        "p.csv:2:effective_date: '2026-13-01' is not a real calendar date",
        "p.csv:2:paid_installments: '-1' is not a whole number of installments (0, 1, 2…)",
        "p.csv:2:status: 'gone' is not one of: issued, in_force, suspended, expired, cancelled",
        "p.csv:2:owner: 'carl' is in claims; an owner works in sales",
        "p.csv:3:term: '7m' is not a whole number of quarterly payment periods (3 months each)",
        "p.csv:4:paid_installments: 13 is more than the 12 installment(s) of the schedule",
        "p.csv:5:status: issued means no premium is paid yet; a paid policy is in_force (L5)",
        "p.csv:6:status: in_force needs its first premium paid (paid_installments of at least 1)",
        "p.csv:7:status: cannot be suspended on 2026-03-02: installment 3 (due 2026-03-01) is in "
        "its 60-day grace period until 2026-04-30 (PRC Insurance Law art. 36)",
        "p.csv:8:status: cannot be expired on 2026-03-02: it covers until 2026-05-31",
        "p.csv:9:lines: 'auto:x:1': the sum insured 'x' is not an amount (digits with at most two "
        "decimals, e.g. 1200.50)",
        "p.csv:10:expiry_date: 2027-01-31 is not the last day of a 1y term from 2026-01-31 "
        "(2027-01-30)",
        "p.csv:12:code: P-000005 is also on line 11"]
    assert lines_of(result.stderr)[-1].startswith("error: 10 row(s) of p.csv are bad")


# -- payments ------------------------------------------------------------------------------------

def test_payments_are_allocated_like_policy_pay(cli, li, work, engine):
    """P-000001 issued 09:00, monthly 100.00: 150 at 10:00 pays installment 1 and half of 2 and
    puts it in force; 50 in cash pays the rest of 2."""
    with work("sally") as w:
        cust = w.session.execute(select(m.Customer).where(m.Customer.code == li)).scalar_one()
        factories.policy(w, cust, status="issued", frequency="monthly")
    cli.clock.advance(hours=3)
    put("pay.csv", "policy,amount,method,paid_at,reference\n"
                   "P-000001,150,WeChat_Pay,2026-03-02 10:00,WX-1\n"
                   "p-000001,50.00,cash,,R-2\n")
    done = cli.ok("import", "payments", "pay.csv")
    assert lines_of(done.stderr) == ["imported 2 payment(s) from pay.csv on 1 policy(ies)"]
    doc = cli.json("policy", "show", "P-000001")
    assert doc["status"] == "in_force"
    assert [(p["installment"], p["amount"], p["method"], p["reference"]) for p in doc["payments"]] == [
        (1, "100.00", "wechat_pay", "WX-1"), (2, "50.00", "wechat_pay", "WX-1"),
        (2, "50.00", "cash", "R-2")]
    assert [t for t, _ in events(engine, "P-000001")] == ["premium.paid", "policy.in_force",
                                                          "premium.paid"]
    assert ("premium-reminder", "P-000001", "3") in open_rules(engine)


def test_payment_rows_are_checked_like_policy_pay(cli, li, work):
    with work("sally") as w:
        cust = w.session.execute(select(m.Customer).where(m.Customer.code == li)).scalar_one()
        factories.policy(w, cust, status="issued", frequency="monthly")   # P-000001: 1200 owed
        factories.policy(w, cust, status="cancelled")                      # P-000002
    put("pay.csv", "policy,amount,method,paid_at\n"
                   "P-000001,1000,cash,2026-03-02 08:00\n"
                   "P-000001,300,cash,\n"
                   "P-000002,10,cash,\n"
                   "P-000009,0,bitcoin,tomorrow\n")
    result = cli.fails(2, "import", "payments", "pay.csv")
    assert lines_of(result.stderr)[:-1] == [
        "pay.csv:2:paid_at: '2026-03-02 08:00' is before the previous step of policy P-000001 "
        "(2026-03-02 09:00 CST)",
        "pay.csv:4:policy: cannot pay policy P-000002: it is cancelled; allowed steps: none "
        "(final state)",
        "pay.csv:5:policy: no policy 'P-000009' in the book",
        "pay.csv:5:amount: '0' must be more than zero",
        "pay.csv:5:method: 'bitcoin' is not one of: bank_transfer, direct_debit, card, cash, "
        "cheque, wechat_pay, alipay",
        "pay.csv:5:paid_at: 'tomorrow' is not a time (use '2026-11-25 14:30', '2026-11-25' or "
        "'20m ago')"]
    # what the file owes adds up: 1000 then 300 is more than the 1200 outstanding
    put("pay.csv", "policy,amount,method\nP-000001,1000,cash\nP-000001,300,cash\n")
    cli.fails(2, "import", "payments", "pay.csv",
              expect="pay.csv:3:amount: cannot take 300.00 on policy P-000001: only 200.00 is "
                     "outstanding")


# -- round trips ----------------------------------------------------------------------------------

def empty_the_book(engine) -> None:
    """Delete every record but the staff: an empty book to import into."""
    with engine.begin() as conn:
        for t in reversed(SQLModel.metadata.sorted_tables):
            if t.name != "staff":
                conn.execute(t.delete())


def test_customers_and_policies_survive_export_then_import_into_an_empty_book(cli, work, engine):
    cli.ok("customer", "add", '=HYPERLINK("x")', "--phone", "+86 13800000000", "--region", "上海",
           "--owner", "sally", "--at", "2026-02-01 10:00", "--notes", "line one\nline two")
    cli.ok("customer", "add", "张伟", "--id-number", "110101198506150019", "--email",
           "zw@example.com", "--born", "1985-06-15", "--source", "referral", "--owner", "sid",
           "--address", '上海市, "南京路" 1号')
    cli.ok("customer", "rate", "C-000002", "--credit", "B", "--risk", "medium", "--reason", "late")
    cli.ok("customer", "add", "上海贸易有限公司", "--company", "--founded", "2001-01-01",
           "--owner", "sally")
    plans = [  # customer, frequency, months, lines, loading
        ("C-000001", "monthly", 12, (("term-life", "500000.00", "1200.00"),
                                     ("accident", "100000.00", "300.00")), D("10")),
        ("C-000002", "annual", 12, (("whole-life", "100000.00", "5000.00"),), None),
        ("C-000001", "annual", 12, (("accident", "100000.00", "1200.00"),), None),
        ("C-000002", "monthly", 12, (("term-life", "200000.00", "1200.00"),), None),
        ("C-000003", "annual", 12, (("property", "900000.00", "800.00"),), None),
        ("C-000003", "single", 60, (("liability", "50000.00", "3000.00"),), None),
    ]
    with work("sally") as w:
        for cust, freq, months, lines, loading in plans:
            c = w.session.execute(select(m.Customer).where(m.Customer.code == cust)).scalar_one()
            factories.application(w, c, status="accepted", frequency=freq, term_months=months,
                                  lines=lines, rate_loading=loading)
    for app, effective in (("A-000001", "2026-01-15"), ("A-000002", "2026-03-01"),
                           ("A-000003", "2026-02-01"), ("A-000004", "2025-11-01"),
                           ("A-000005", "2024-01-01"), ("A-000006", "2026-03-01")):
        cli.ok("policy", "issue", app, "--effective", effective, as_="uma")
    cli.ok("policy", "pay", "P-000001", "--amount", "275", "--method", "card", as_="sam")
    cli.ok("policy", "pay", "P-000003", "--amount", "1200", "--method", "cash", as_="sam")
    cli.ok("policy", "cancel", "P-000003", "--reason", "moved abroad")
    cli.ok("policy", "pay", "P-000004", "--amount", "100", "--method", "cash", as_="sam")
    cli.ok("policy", "suspend", "P-000004")
    cli.ok("policy", "pay", "P-000005", "--amount", "800", "--method", "cash", as_="sam")
    cli.ok("policy", "expire", "P-000005")
    cli.ok("policy", "pay", "P-000006", "--amount", "3000", "--method", "cash", as_="sam")

    # a masked export (the default) is refused by the importer, naming the masked cells
    put("masked.csv", cli.ok("export", "customers").stdout)
    cli.fails(2, "import", "customers", "masked.csv",
              expect="masked.csv:2:phone: '+86 1******0000' is masked ('*')")
    # with --reveal (a manager; recorded) the book round-trips
    customers_csv = cli.ok("export", "customers", "--reveal").stdout
    policies_csv = cli.ok("export", "policies", "--excel", "--reveal").stdout
    before = {kind: cli.json("export", kind, "--reveal")
              for kind in ("customers", "policies", "installments")}
    put("customers.csv", customers_csv)
    put("policies.csv", policies_csv)
    empty_the_book(engine)
    assert cli.json("export", "customers") == []

    cli.ok("import", "customers", "customers.csv")
    cli.ok("import", "policies", "policies.csv")
    after = {kind: cli.json("export", kind, "--reveal")
             for kind in ("customers", "policies", "installments")}
    assert after["customers"] == before["customers"]
    assert after["installments"] == before["installments"]
    for p in before["policies"]:
        p["application"] = None  # the plans stay behind: policies come over on their own
    assert after["policies"] == before["policies"]
    assert [p["status"] for p in after["policies"]] == [
        "in_force", "issued", "cancelled", "suspended", "expired", "in_force"]
    # and once more: an export of the imported book is the file we imported
    assert cli.ok("export", "customers", "--reveal").stdout == customers_csv
    assert io.StringIO(cli.ok("export", "policies").stdout).read().count("\n") == 7


# -- the command line ----------------------------------------------------------------------------

def test_progress_bar_only_on_a_terminal(monkeypatch):
    from insurtrack.cli import transfer

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    with transfer._progress() as progress:
        assert progress is None
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    with transfer._progress() as progress:
        progress("checking", 50, 100)
        progress("importing", 1, 2)
    assert "checking" in screen.getvalue()


@pytest.mark.parametrize("args", [["export", "--help"], ["export", "policies", "--help"],
                                  ["import", "--help"], ["import", "policies", "--help"]])
def test_help_of_export_and_import_loads_no_heavy_module(args):
    from tests.cli.test_startup import _heavy_modules

    heavy, out = _heavy_modules(args)
    assert heavy == [] and "Usage" in out


def test_import_help_documents_the_columns(cli):
    out = cli.ok("import", "policies", "--help").stdout
    for col in ("customer (required)", "lines:", "paid_installments:", "paid_to:", "term (required)"):
        assert col in out
    assert "FILE:LINE:COLUMN" in out
