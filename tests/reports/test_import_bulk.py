"""The bulk writer of `insurtrack import` (reports/bulk.py) writes exactly what the services write.

Each test builds the same book twice — the same customers, policies and follow-ups already in it —
imports the same files once through the services row by row (`importer.write_through_services`,
the CLI's hidden --slow) and once through the bulk writer, and compares every table of the two
books: every row, with foreign keys replaced by the rows they point at (so surrogate ids do not
matter), `recorded_at` left out and JSON documents with sorted keys.

The clock reads Monday 2 March 2026, 09:00 in Shanghai (tests/conftest.py)."""

from __future__ import annotations

import json
import random
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlmodel import SQLModel

from insurtrack import config, db
from insurtrack.domain import models as m
from insurtrack.domain import schedule
from insurtrack.domain.states import PaymentMethod
from insurtrack.reports import importer
from insurtrack.services import policies
from insurtrack.services.base import Work
from tests import factories
from tests.conftest import STAFF, local

IGNORED = {"recorded_at"}


@pytest.fixture(autouse=True)
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def put(name: str, text_: str) -> str:
    with open(name, "w", encoding="utf-8", newline="") as f:
        f.write(text_)
    return name


# -- comparing two books -------------------------------------------------------------------------

def natural(engine) -> dict[str, list[str]]:
    """Every row of every table, each foreign key replaced by the row it points at, ids and
    recorded_at left out, JSON with sorted keys; sorted, one text per row."""
    # the audit trail differs by design: the services write an entry per row they touch, the
    # bulk writer one per imported record (tested in tests/test_audit.py)
    tables = [t for t in SQLModel.metadata.sorted_tables if not t.name.startswith("audit_")]
    rows: dict[str, dict] = {}
    with engine.connect() as conn:
        for t in tables:
            found = [dict(r._mapping) for r in conn.execute(select(t))]
            rows[t.name] = {r["id"]: r for r in found} if "id" in t.c else dict(enumerate(found))
    refs = {t.name: {c.name: next(iter(c.foreign_keys)).column.table.name
                     for c in t.columns if c.foreign_keys} for t in tables}
    json_cols = {t.name: {c.name for c in t.columns if c.type.__class__.__name__ == "JSON"}
                 for t in tables}
    memo: dict[tuple[str, int], str] = {}

    def of(table: str, key: int) -> str:
        if (table, key) not in memo:
            memo[(table, key)] = "<cycle>"
            row = rows[table][key]
            out = {}
            for c, v in row.items():
                if c == "id" or c in IGNORED:
                    continue
                if c in refs[table] and v is not None:
                    v = of(refs[table][c], v)
                elif c in json_cols[table]:
                    v = json.dumps(v, sort_keys=True)
                out[c] = v
            memo[(table, key)] = repr(sorted(out.items()))
        return memo[(table, key)]

    return {t.name: sorted(of(t.name, k) for k in rows[t.name]) for t in tables}


def assert_same(slow: dict[str, list[str]], bulk: dict[str, list[str]]) -> None:
    for table in slow:
        only_slow = sorted(set(slow[table]) - set(bulk[table]))
        only_bulk = sorted(set(bulk[table]) - set(slow[table]))
        assert not only_slow and not only_bulk and len(slow[table]) == len(bulk[table]), (
            f"table {table}: {len(slow[table])} rows through the services, {len(bulk[table])} "
            f"in bulk\nonly through the services: {only_slow[:3]}\nonly in bulk: {only_bulk[:3]}")


def wipe(engine) -> None:
    """Empty every table: a fresh book (staff come back with `make_staff`)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(t.delete())


def make_staff(engine, clock, settings) -> None:
    from insurtrack.domain.states import Department
    from insurtrack.services import staff as svc

    with db.write(engine) as session:
        w = Work(session=session, actor=None, clock=clock, settings=settings)
        for login, dept in STAFF.items():
            svc.add(w, code=login, name=login.title(), department=Department(dept),
                    email=f"{login}@example.com")


def run_import(engine, clock, settings, kind: str, path: str, *, slow: bool,
               skip_bad: bool = False, actor: str = "boss") -> importer.Written:
    with db.write(engine) as session:
        who = session.execute(select(m.Staff).where(m.Staff.code == actor)).scalar_one()
        w = Work(session=session, actor=who, clock=clock, settings=settings)
        plan = importer.check(w, kind, path)
        try:
            assert skip_bad or not plan.rejected, [p.show(path) for p in plan.problems]
            return importer.write(w, plan, slow=slow)
        finally:
            plan.close()


def both_ways(engine, clock, settings, setup, files: list[tuple[str, str]], **kw):
    """Build the book with `setup`, import `files` through the services; build it again and
    import them in bulk; compare the two books. Returns what each writer said it wrote."""
    said = []
    books = []
    for slow in (True, False):
        wipe(engine)
        make_staff(engine, clock, settings)
        setup(engine, clock, settings)
        said.append([run_import(engine, clock, settings, kind, path, slow=slow, **kw)
                     for kind, path in files])
        books.append(natural(engine))
    assert_same(*books)
    assert said[0] == said[1]
    return books[1], said[1]


# -- the book before the import ------------------------------------------------------------------

def a_book(engine, clock, settings) -> None:
    """C-000001 Li Na (sally) with P-000001 in force (her quarterly revisit is open), C-000002
    Wang (sid) with nothing; the policy sequence at 1."""
    with db.write(engine) as session:
        actor = session.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=session, actor=actor, clock=clock, settings=settings)
        li = factories.customer(w)
        factories.customer(w, name="Wang", owner="sid")
        app = factories.application(w, li, status="accepted")
        p = policies.issue(w, app.code, effective=date(2026, 2, 1))
        policies.pay(w, p.code, amount=p.premium, method=PaymentMethod.CASH)


def empty_book(engine, clock, settings) -> None:
    pass


CUSTOMERS = (
    "code,name,kind,id_number,phone,email,birth_date,region,source,owner,credit_rating,"
    "risk_level,rating_reason,rated_at,created_at,notes\n"
    "C-000010,张伟,person,110101198506150019,13800000000,zw@example.com,1985-06-15,上海,referral,"
    "sid,A,high,good payer,2025-06-02 10:00,2025-06-01 10:00,\"line one\nline two\"\n"
    ",Acme 贸易,company,,,,2001-01-01,北京,,sally,,,,,2024-01-01T09:00:00+08:00,\n"
    "C-000012,Sun,person,,,,,,,,,medium,,,,\n"
    ",Zhao,,,,,,,walk-in,sid,B,,,,2026-03-02 08:59,\n"
    "C-000020,'=SUM(A1),person,,'+86 139 0000,,,,,sally,,,,,,\n")

POLICIES = (
    "code,customer,owner,lines,product,sum_insured,premium,rate_loading,frequency,term,"
    "effective_date,expiry_date,status,paid_installments,paid_to,payment_method,issued_at,"
    "in_force_at,suspended_at,expired_at,cancelled_at,cancel_reason,conditions\n"
    # a second policy in force for Li Na, whose quarterly revisit is already open in the book
    "P-000007,C-000001,,,term-life,500000,1200,,monthly,1y,2026-01-15,2027-01-14,,2,,,"
    "2026-01-10 10:00,2026-01-15 11:00,,,,,\n"
    # 张伟: expired (opens then cancels his quarterly revisit), in force (opens it again),
    # cancelled (keeps it: another policy is in force)
    ",C-000010,,,accident,100000,1200,,annual,1y,2024-01-01,,expired,1,,cash,"
    "2023-12-20T10:00:00+08:00,2024-01-01T10:00:00+08:00,,2025-01-03 09:00,,,\n"
    ",C-000010,sid,term-life:500000:1200;ACCIDENT:100000:300,,600000,1650.00,10,quarterly,2y,"
    "2025-06-01,,,,2026-03-01,card,2025-05-20 10:00,,,,,,no smoking\n"
    ",c-000010,,,medical,20000,600,,annual,1y,2025-03-01,,cancelled,1,,,2025-02-20 10:00,,,,"
    "2026-01-05 10:00,moved abroad,\n"
    # Acme: suspended (in force, then its quarterly revisit cancelled with its last policy)
    ",C-000021,,,property,900000,1200,,monthly,1y,2025-11-01,,suspended,1,,,2025-10-20 10:00,,,,,,\n"
    # Acme: issued, nothing paid; cancelled straight from issued
    ",C-000021,,,property,900000,800,,annual,1y,2026-04-01,,issued,,,,2026-02-20 10:00,,,,,,\n"
    ",C-000021,,,auto,50000,800,,semi-annual,1y,2026-01-01,,cancelled,,,,2026-01-02 10:00,,,,"
    "2026-01-03 10:00,,\n"
    # Sun: a single premium; a premium so small that most installments are 0.00 (paid 3: only the
    # first takes money, the payment stops there as `policy pay` stops)
    "P-000030,C-000012,,,liability,50000,3000,,single,5y,2026-03-01,,,1,,wechat_pay,"
    "2026-02-27 10:00,,,,,,\n"
    "P-000031,C-000012,,,accident,1000,0.05,,monthly,1y,2026-01-01,,,3,,,2025-12-28 10:00,,,,,,\n"
    # Wang (in the book, nothing in force): in force, then an expired one (his revisit stays)
    ",C-000002,,,whole-life,100000,5000,,annual,10y,2025-03-01,,in_force,1,,,"
    "2025-02-25 10:00,2025-03-01 10:00,,,,,\n"
    ",C-000002,,,accident,10000,100,,quarterly,1y,2024-06-01,,expired,4,,,2024-05-25 10:00,"
    "2024-06-02 10:00,,2025-06-05 10:00,,,\n")


def generated(n: int, customers: int, seed: int = 5) -> str:
    """`n` policies of every kind over customers C-000001…: valid, in file order."""
    rnd = random.Random(seed)
    today = date(2026, 3, 2)
    out = ["customer,product,sum_insured,premium,frequency,term,effective_date,status,"
           "paid_installments,issued_at,in_force_at,suspended_at,expired_at,cancelled_at"]
    for k in range(n):
        cust = f"C-{1 + rnd.randrange(customers):06d}"
        freq = rnd.choice(["annual", "monthly", "quarterly", "semi-annual", "single"])
        term = rnd.choice([12, 24]) if freq != "single" else 12
        effective = today - timedelta(days=rnd.randrange(-20, 900))
        dues = schedule.installment_dates(effective, freq, term)
        expiry = schedule.expiry_date(effective, term)
        issued = min(effective - timedelta(days=rnd.randrange(1, 9)), today - timedelta(days=1))
        due_by = [d for d in dues if d <= today] or dues[:1]
        status, paid, ended = "in_force", len(due_by), ["", "", ""]
        r = rnd.random()
        if effective > today:
            status, paid = "issued", 0
        elif expiry < today - timedelta(days=2) and r < 0.8:
            status, paid = "expired", len(dues)
            ended[1] = (expiry + timedelta(days=1)).isoformat() + " 08:00"
        elif r < 0.1:
            status = "cancelled"
            ended[2] = (issued + timedelta(days=1)).isoformat() + " 10:00"
            paid = rnd.choice([0, 1])
        elif r < 0.2:
            late = [i for i, d in enumerate(dues) if i and d < today - timedelta(days=70)]
            if late:
                status, paid = "suspended", late[0]
                ended[0] = (today - timedelta(days=1)).isoformat() + " 10:00"
        in_force = (issued + timedelta(days=1)).isoformat() + " 09:00" if paid else ""
        term_text = f"{term // 12}y"
        out.append(f"{cust},accident,{rnd.randrange(1, 90) * 1000},{rnd.randrange(50, 3000)}."
                   f"{rnd.randrange(100):02d},{freq},{term_text},{effective},{status},{paid},"
                   f"{issued} 10:00,{in_force},{ended[0]},{ended[1]},{ended[2]}")
    return "\n".join(out) + "\n"


def many_customers(n: int) -> str:
    rows = ["name,owner,created_at,credit_rating"]
    for k in range(n):
        rows.append(f"Customer {k},{'sally' if k % 3 else 'sid'},2024-01-{1 + k % 28:02d} 10:00,"
                    f"{'ABCD'[k % 4] if k % 5 == 0 else ''}")
    return "\n".join(rows) + "\n"


# -- the tests ------------------------------------------------------------------------------------

def test_customers_and_policies_in_bulk_are_what_the_services_write(engine, clock, settings):
    put("customers.csv", CUSTOMERS)
    put("policies.csv", POLICIES)
    book, said = both_ways(engine, clock, settings, a_book,
                           [("customers", "customers.csv"), ("policies", "policies.csv")])
    assert [(s.count, s.first, s.last) for s in said] == [
        (5, "C-000010", "C-000020"), (11, "P-000007", "P-000039")]
    # what the scenario is about happened (in both books): the revisits and reminders
    with engine.connect() as conn:
        clocks = {(r, s, st) for r, s, st in conn.execute(
            select(m.FollowUp.rule, m.FollowUp.subject, m.FollowUp.status))}
        assert ("quarterly-revisit", "C-000010", "cancelled") in clocks   # with the expired one
        assert ("quarterly-revisit", "C-000010", "open") in clocks        # the policy in force
        assert ("quarterly-revisit", "C-000021", "cancelled") in clocks   # suspended
        seq = dict(conn.execute(select(m.Sequence.name, m.Sequence.value)).all())
        assert (seq["customer"], seq["policy"]) == (22, 39)
        tiny = conn.execute(select(m.Installment.seq, m.Installment.status)
                            .join(m.Policy, m.Policy.id == m.Installment.policy_id)
                            .where(m.Policy.code == "P-000031")
                            .order_by(m.Installment.seq)).all()
        assert [s for _, s in tiny[:4]] == ["paid", "due", "due", "due"]


def test_into_an_empty_book_with_many_rows(engine, clock, settings):
    """A few hundred policies of every state over customers imported just before, some with
    several policies (their per-customer revisit opened, kept or cancelled across batches)."""
    from insurtrack.reports import bulk

    put("customers.csv", many_customers(60))
    put("policies.csv", generated(400, 60))
    small = bulk.BATCH
    bulk.BATCH = 37   # many batches: the per-customer state is carried from one to the next
    try:
        book, said = both_ways(engine, clock, settings, empty_book,
                               [("customers", "customers.csv"), ("policies", "policies.csv")])
    finally:
        bulk.BATCH = small
    assert said[1].count == 400 and len(book["followup"]) > 400


def test_other_rules_apply_in_bulk_as_in_the_engine(engine, clock):
    """Rules of the office's own: per-customer cadences stopped and repeated, clocks paused and
    resumed, business-hour targets assigned to the owner, only_if, an anchored rule."""
    values = {s.key: s.default for s in config.SPEC}
    values["sla"] = {
        "welcome-call": {"description": "Welcome call", "department": "sales",
                         "assign_to": "owner", "start_on": ["policy.issued"],
                         "target": "2 hours", "calendar": "business",
                         "stop_on": ["policy.in_force"], "warn_before": "30 minutes"},
        "until-paid": {"department": "service", "start_on": ["policy.issued"],
                       "target": "10 working days", "pause_on": ["premium.paid"],
                       "resume_on": ["policy.in_force"], "cancel_on": ["policy.cancelled"]},
        "new-customer": {"department": "sales", "assign_to": "owner", "per": "customer",
                         "start_on": ["customer.added"], "target": "1 week",
                         "repeat_every": "1 week", "stop_on": ["customer.rated", "policy.issued"]},
        "company-check": {"department": "manager", "start_on": ["customer.added"],
                          "only_if": {"kind": "company"}, "target": "3 working days"},
        "expiry-watch": {"department": "service", "start_on": ["policy.in_force"],
                         "anchor": "policy.expiry_date", "target": "1 day",
                         "stop_on": ["policy.expired"]},
        "quarterly-revisit": {"assign_to": "owner"},
        "first-contact": {"enabled": False},
    }
    settings = config.Settings(values=values)
    put("customers.csv", CUSTOMERS)
    put("policies.csv", POLICIES)
    book, _ = both_ways(engine, clock, settings, a_book,
                        [("customers", "customers.csv"), ("policies", "policies.csv")])
    rules = {r.split("('rule', '")[1].split("'")[0] for r in book["followup"]}
    assert {"welcome-call", "until-paid", "new-customer", "company-check",
            "expiry-watch"} <= rules and "first-contact" not in rules


def a_book_with_policies(engine, clock, settings) -> None:
    """`a_book`, then CUSTOMERS and POLICIES imported through the services: P-000007 monthly in
    force (two of twelve paid), P-000033 quarterly in force, P-000035 suspended, P-000036
    issued, P-000038 annual in force for ten years."""
    a_book(engine, clock, settings)
    put("customers.csv", CUSTOMERS)
    put("policies.csv", POLICIES)
    run_import(engine, clock, settings, "customers", "customers.csv", slow=True)
    run_import(engine, clock, settings, "policies", "policies.csv", slow=True)
    from insurtrack.domain.states import ContactChannel, ReminderResult
    from insurtrack.services import renewals

    with db.write(engine) as session:  # P-000007's installment 3 reminded: its reminder is done
        sam = session.execute(select(m.Staff).where(m.Staff.code == "sam")).scalar_one()
        w = Work(session=session, actor=sam, clock=clock, settings=settings)
        renewals.remind(w, "P-000007", channel=ContactChannel.PHONE,
                        result=ReminderResult.REACHED, at=local(2026, 3, 1, 9, 30))


PAYMENTS = (
    "policy,amount,method,paid_at,reference\n"
    "P-000007,50,card,2026-03-01 10:00,R1\n"        # half of 3, already reminded: not again
    "P-000036,300,cash,2026-03-01 11:00,\n"         # part of the first premium: in force
    "P-000007,150,cash,2026-03-01 12:00,R2\n"       # the rest of 3, and 4
    "P-000035,100,wechat_pay,,\n"                   # suspended: stays suspended
    "P-000038,5000,bank_transfer,2026-03-02 08:00,\n"
    "p-000033,412.50,card,2026-03-02 08:30,\n"
    "P-000007,100,cash,,R3\n"
    "P-000036,0.01,alipay,2026-03-02 08:59,\n")


@pytest.mark.parametrize("batch", [2000, 3])
def test_payments_in_bulk_are_what_policy_pay_writes(engine, clock, settings, batch,
                                                     monkeypatch):
    """Payments on policies of the book, several on the same policy (in one batch or across
    batches): installments, payments, events, reminders moved to the next installment, the
    follow-ups of a first payment."""
    from insurtrack.reports import bulk

    monkeypatch.setattr(bulk, "BATCH", batch)
    put("payments.csv", PAYMENTS)
    book, said = both_ways(engine, clock, settings, a_book_with_policies,
                           [("payments", "payments.csv")])
    assert (said[0].count, said[0].policies) == (8, 5)
    with engine.connect() as conn:
        status = dict(conn.execute(select(m.Policy.code, m.Policy.status)).all())
        assert (status["P-000036"], status["P-000035"]) == ("in_force", "suspended")
        assert conn.execute(select(m.FollowUp.anchor_ref).where(
            m.FollowUp.rule == "premium-reminder", m.FollowUp.subject == "P-000007",
            m.FollowUp.status == "open")).scalar_one() == "6"


def test_skip_bad_codes_and_the_sequence(engine, clock, settings):
    """Rejected rows are left out the same way; codes of the rows without one follow the highest
    code of the good rows."""
    put("policies.csv",
        "code,customer,product,sum_insured,premium,frequency,term,effective_date,"
        "paid_installments\n"
        "P-000050,C-000001,term-life,1000,100,annual,1y,2026-01-01,1\n"
        "P-000090,C-000099,term-life,1000,100,annual,1y,2026-01-01,1\n"   # no such customer
        ",C-000002,term-life,1000,100,monthly,1y,2026-01-01,2\n"
        "P-000050,C-000002,term-life,1000,100,annual,1y,2026-01-01,1\n")  # twice
    book, said = both_ways(engine, clock, settings, a_book, [("policies", "policies.csv")],
                           skip_bad=True)
    assert (said[0].count, said[0].first, said[0].last) == (2, "P-000050", "P-000051")


def test_the_cli_writes_in_bulk_and_slow_on_request(cli, engine):
    """`insurtrack import` writes in bulk; the hidden --slow writes through the services."""
    cli.ok("customer", "add", "Li Na", "--owner", "sally")
    put("p.csv", "customer,product,sum_insured,premium,frequency,term,effective_date,"
                 "paid_installments\nC-000001,accident,1000,100,monthly,1y,2026-01-01,2\n")
    done = cli.ok("import", "policies", "p.csv")
    assert done.stderr.strip() == "imported 1 policy(ies) from p.csv: P-000001"
    done = cli.ok("import", "policies", "p.csv", "--slow")
    assert done.stderr.strip() == "imported 1 policy(ies) from p.csv: P-000002"
    with engine.connect() as conn:
        assert conn.execute(select(m.Event.type).where(m.Event.subject == "P-000002")
                            .order_by(m.Event.id)).scalars().all() == [
            "policy.issued", "premium.paid", "policy.in_force"]
    assert "--slow" not in cli.ok("import", "policies", "--help").stdout


def test_a_row_the_services_refuse_rolls_everything_back(engine, clock, settings):
    """A premium of 0.05 a year paid monthly for one month schedules one installment of 0.00:
    `policy pay` refuses to take 0.00, and so does the bulk writer, naming the line."""
    wipe(engine)
    make_staff(engine, clock, settings)
    a_book(engine, clock, settings)
    put("p.csv", "customer,product,sum_insured,premium,frequency,term,effective_date,"
                 "paid_installments\n"
                 "C-000001,accident,1000,100,annual,1y,2026-01-01,1\n"
                 "C-000001,accident,1000,0.05,monthly,1m,2026-01-01,1\n")
    before = natural(engine)
    for slow in (True, False):
        with pytest.raises(importer.RowFailed, match=r"p.csv:3: --amount '0.00': must be more "
                                                     r"than zero; nothing was imported"):
            run_import(engine, clock, settings, "policies", "p.csv", slow=slow)
        assert natural(engine) == before


def test_a_plan_keeps_its_rows_in_a_spool_in_file_order(engine, clock, settings, monkeypatch):
    """Beyond one block the good rows go to a temporary file and come back in order."""
    monkeypatch.setattr(importer, "SPOOL_BATCH", 7)
    wipe(engine)
    make_staff(engine, clock, settings)
    put("c.csv", many_customers(50))
    with db.write(engine) as session:
        boss = session.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=session, actor=boss, clock=clock, settings=settings)
        plan = importer.check(w, "customers", "c.csv")
        assert plan.count == 50 and plan._spool is not None
        assert [r[importer.C_LINE] for r in plan.rows()] == list(range(2, 52))
        assert [r[importer.C_NUMBER] for r in plan.rows()] == list(range(1, 51))
        plan.close()


def test_the_indexes_are_the_same_after_an_import_into_an_empty_book(engine, clock, settings):
    """An import that more than doubles a table builds its indexes once at the end (SQLite):
    afterwards the schema, and the planner's statistics, are exactly what they were."""
    def schema() -> list:
        with engine.connect() as conn:
            if engine.dialect.name != "sqlite":
                return sorted(conn.execute(text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")))
            return (sorted(conn.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master")))
                    + sorted(conn.execute(text("SELECT * FROM sqlite_stat1"))))

    wipe(engine)
    make_staff(engine, clock, settings)
    a_book(engine, clock, settings)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # the planner's statistics stay as they were, too
    before = schema()
    put("customers.csv", many_customers(30))
    put("policies.csv", generated(60, 30))
    run_import(engine, clock, settings, "customers", "customers.csv", slow=False)
    run_import(engine, clock, settings, "policies", "policies.csv", slow=False)
    assert schema() == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM followup")).scalar() > 60


@pytest.mark.parametrize("value", [
    {"effective": "2026-01-01", "premium": "1200.00", "installments": 12, "imported": True,
     "file": 'C:\\books\\"客户".csv', "reason": None, "previous": {"credit": None, "risk": "low"},
     "seqs": [1, 2], "empty": [], "no": False},
    [["2026-01-01T00:00:00+00:00", "2026-01-02T16:00:00+00:00", None]], [], {},
    {"big": 10 ** 20, "negative": -3, "float": 1.5}, {1: "not a str key"}, ("a", "é")])
def test_payloads_are_stored_as_json_dumps_writes_them(value):
    from insurtrack.reports.bulk import dumps

    assert dumps(value) == json.dumps(value)


def test_flat_maps_of_numbers():
    """What the checks and writers keep across rows, by code number or id: arrays for dense
    numbers, a dict beyond."""
    from insurtrack.reports.bulk import _Bits

    firsts = importer._Firsts()
    assert [firsts.first(n, line) for n, line in ((5, 2), (5, 3), (7, 4), (1 << 30, 5),
                                                  (1 << 30, 6))] == [2, 2, 4, 5, 5]
    ints = importer.IntMap()
    ints.put(3, 42)
    ints.put(1 << 30, -1)
    assert (ints.get(3), ints.get(4), ints.get(1 << 30), ints.get(10 ** 9)) == (42, 0, -1, 0)
    bits = _Bits()
    assert [bits.add(n) for n in (1, 1, 9, 1 << 28, 1 << 28)] == [True, False, True, True, False]


# -- the audit entries of a bulk import (issue 6.3): written straight from the storage values ------

def test_bulk_audit_entries_are_what_canonical_plain_writes(engine, clock, settings):
    """Each entry's `after` is written from the values as SQLite stores them (money in cents,
    instants as text) without going through Decimal and datetime (bulk._Sink._plain_text): it
    must be exactly the canonical JSON of the row's column values (audit.canonical(plain(…)))
    — here for every customer, policy and payment a bulk import writes, with amounts, instants,
    dates, empty cells and Chinese text."""
    from insurtrack import audit
    from tests.test_audit import entries

    put("customers.csv", CUSTOMERS)
    put("more.csv", many_customers(30))
    put("policies.csv", re.sub(r"^C-(\d+)", lambda c: f"C-{int(c[1]) + 20:06d}",
                               generated(120, 30), flags=re.M))   # after CUSTOMERS' C-000020
    wipe(engine)
    make_staff(engine, clock, settings)
    for kind, path in (("customers", "customers.csv"), ("customers", "more.csv"),
                       ("policies", "policies.csv")):
        run_import(engine, clock, settings, kind, path, slow=False)
    with engine.connect() as conn:   # policies in force with something to pay
        owing = conn.execute(select(m.Policy.code).where(m.Policy.status == "in_force").where(
            m.Policy.id.in_(select(m.Installment.policy_id).where(m.Installment.status == "due")))
            .order_by(m.Policy.id).limit(2)).scalars().all()
    assert len(owing) == 2
    put("payments.csv", f"policy,amount,method\n{owing[0]},150.55,cash\n{owing[1]},0.01,cash\n")
    run_import(engine, clock, settings, "payments", "payments.csv", slow=False)
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    seen = set()
    with engine.connect() as conn:
        for e in entries(engine):
            if e["table_name"] not in ("customer", "policy", "payment"):
                continue
            t = tables[e["table_name"]]
            after = json.loads(e["after"])
            assert set(after) - set(t.c.keys()) == {"imported"}
            if e["record_id"] is not None:
                found = t.c.id == e["record_id"]
            else:   # a payment's entry has no id: its installment's (one payment each here)
                found = t.c.installment_id == after["installment_id"]
            row = conn.execute(select(t).where(found)).mappings().one()
            want = {**{c: row[c] for c in after if c in t.c}, "imported": after["imported"]}
            assert e["after"] == audit.canonical(audit.plain(want)), e["subject"]
            seen.add(e["table_name"])
    assert seen == {"customer", "policy", "payment"}


@pytest.mark.parametrize("doc", [
    [1, "2026-01-01T00:00:00.000000+00:00", None, "policy", None, "P-1", "insert", None,
     '{"name":"\\u738b","x":"a\\"b"}', "0" * 64],
    [10 ** 30, "é\n\t\\", "", -5, "😀"], []])
def test_the_chain_hashes_canonical_text(doc):
    from insurtrack import audit

    assert audit._list_text(doc) == audit.canonical(doc)
    assert audit._list_text([1.5, True]) == audit.canonical([1.5, True])   # not str/int/None
