"""The audit trail (issue 6.3, D3, K4): every change writes a hash-chained entry in the change's
own transaction; `audit log` shows a record's history; `audit verify` finds every edited,
deleted, inserted or reordered entry — tested by tampering with the database directly."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from insurtrack import audit, db
from insurtrack.cli.audit import EXIT_BROKEN
from insurtrack.domain import models as m
from tests import factories
from tests.conftest import local


def entries(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in audit.rows_since(conn, 0)]


def check(engine, **kw) -> audit.Check:
    with engine.connect() as conn:
        return audit.verify(conn, **kw)


@pytest.fixture
def book(cli):
    """A customer, edited; a claim reported and contacted: a few dozen entries."""
    cli.ok("customer", "add", "Li Na", "--phone", "13800000001", as_="sally")
    cli.ok("customer", "edit", "C-000001", "--region", "上海", "--phone", "13900000000", as_="sam")
    return cli


# -- writing -------------------------------------------------------------------------------------

def test_d3_every_change_is_an_entry_with_who_when_record_and_values(book, engine, clock):
    rows = entries(engine)
    inserted = [r for r in rows if r["table_name"] == "customer" and r["action"] == "insert"]
    assert len(inserted) == 1
    e = inserted[0]
    assert (e["actor"], e["subject"], e["record_id"], e["at"]) == ("sally", "C-000001", 1, clock.now())
    after = json.loads(e["after"])
    assert (after["name"], after["phone"], after["code"]) == ("Li Na", "13800000001", "C-000001")
    assert e["before"] is None
    edit = [r for r in rows if r["table_name"] == "customer" and r["action"] == "update"][0]
    assert edit["actor"] == "sam"
    # an update keeps only what changed, before and after
    before, after = json.loads(edit["before"]), json.loads(edit["after"])
    assert before["phone"] == "13800000001" and after["phone"] == "13900000000"
    assert before["region"] is None and after["region"] == "上海"
    assert "name" not in after and "code" not in after


def test_d3_entries_are_chained_by_hash_from_genesis(book, engine):
    rows = entries(engine)
    assert [r["id"] for r in rows] == list(range(1, len(rows) + 1))
    prev = audit.GENESIS
    for r in rows:
        assert r["prev_hash"] == prev
        assert r["hash"] == audit.entry_hash(r["id"], r["at"], r["actor"], r["table_name"],
                                             r["record_id"], r["subject"], r["action"],
                                             r["before"], r["after"], prev)
        prev = r["hash"]
    with engine.connect() as conn:
        head = conn.execute(select(m.AuditHead.last_id, m.AuditHead.last_hash)).one()
    assert tuple(head) == (rows[-1]["id"], rows[-1]["hash"])


def test_a_refused_change_writes_no_entry(book):
    # cli.fails compares every table, the audit trail included, before and after
    book.fails(3, "customer", "edit", "C-000404", "--region", "x", expect="C-000404")
    book.fails(2, "customer", "edit", "C-000001", "--born", "someday")


def test_an_entry_is_in_the_changes_transaction(work, engine):
    """A unit of work that fails after its flush leaves neither the row nor its entry."""
    before = len(entries(engine))
    with pytest.raises(RuntimeError):
        with work("sally") as w:
            factories.customer(w)
            w.session.flush()
            assert w.session.execute(select(m.AuditEntry)).first() is not None
            raise RuntimeError("boom")
    assert len(entries(engine)) == before


def test_deletes_keep_the_row_as_it_was(work, engine):
    with work("sally") as w:
        cust = factories.customer(w)
        pol = factories.policy(w, cust)
    with work("carl") as w:
        c = factories.claim(w, w.session.get(m.Policy, pol.id))
        doc = m.ClaimDocument(claim_id=c.id, name="invoice", requested_at=w.now())
        w.session.add(doc)
    with work("cora") as w:
        w.session.delete(w.session.get(m.ClaimDocument, doc.id))
    gone = [r for r in entries(engine) if r["table_name"] == "claim_document"]
    assert [(r["action"], r["actor"], r["subject"]) for r in gone] == [
        ("insert", "carl", "CL-000001"), ("delete", "cora", "CL-000001")]
    assert json.loads(gone[1]["before"])["name"] == "invoice" and gone[1]["after"] is None


def test_bulk_import_writes_one_chained_entry_per_record(cli, engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "customers.csv").write_text(
        "name,phone,owner\nLi,13800000001,sally\nWang,13800000002,sid\nZhao,13800000003,sally\n",
        encoding="utf-8")
    cli.ok("import", "customers", "customers.csv", as_="boss")   # imports: managers (issue 6)
    rows = [r for r in entries(engine) if r["table_name"] == "customer"]
    assert [(r["subject"], r["actor"], r["action"]) for r in rows] == [
        ("C-000001", "boss", "insert"), ("C-000002", "boss", "insert"),
        ("C-000003", "boss", "insert")]
    after = json.loads(rows[1]["after"])
    assert (after["name"], after["imported"], after["owner_id"]) == ("Wang", "customers.csv", 3)
    assert check(engine).intact
    # and the ORM path goes on from the head the import left
    cli.ok("customer", "edit", "C-000002", "--region", "北京", as_="sally")
    assert check(engine).intact


def test_bulk_import_of_policies_and_payments_is_audited_per_record(cli, work, engine, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    with work("sally") as w:
        cust = factories.customer(w)
        factories.policy(w, cust, status="issued", frequency="monthly")
    (tmp_path / "policies.csv").write_text(
        "customer,product,sum_insured,premium,frequency,term,effective_date,paid_installments,"
        "payment_method\nC-000001,term-life,500000,1200,monthly,1y,2026-01-15,2,bank_transfer\n",
        encoding="utf-8")
    (tmp_path / "pay.csv").write_text("policy,amount,method\nP-000001,150,cash\n", encoding="utf-8")
    cli.ok("import", "policies", "policies.csv", as_="boss")   # imports: managers (issue 6)
    cli.ok("import", "payments", "pay.csv", as_="boss")
    rows = entries(engine)
    policy = [r for r in rows if r["table_name"] == "policy" and r["subject"] == "P-000002"]
    assert [(r["action"], r["actor"]) for r in policy] == [("insert", "boss")]
    after = json.loads(policy[0]["after"])
    assert (after["premium"], after["status"], after["imported"]) == ("1200.00", "in_force",
                                                                      "policies.csv")
    paid = [r for r in rows if r["table_name"] == "payment" and r["actor"] == "boss"]
    assert [(r["subject"], json.loads(r["after"])["amount"]) for r in paid] == [
        ("P-000001", "100.00"), ("P-000001", "50.00")]  # one per payment row (two installments)
    assert check(engine).intact
    assert {r["record"].split()[0] for r in cli.json("audit", "log", "P-000002")} == {"policy"}


def test_two_writers_never_fork_the_chain(cli, db_url, clock, settings):
    """Writers in parallel threads, each with its own engine and transactions: one chain, no
    gap, intact (SQLite: BEGIN IMMEDIATE; PostgreSQL: the chain's advisory lock)."""
    from insurtrack.services import customers
    from insurtrack.services.base import Work

    errors = []

    def writer(who: str, n: int) -> None:
        engine = db.make_engine(db_url)
        try:
            for i in range(n):
                with db.write(engine) as session:
                    actor = session.execute(select(m.Staff).where(m.Staff.code == who)).scalar_one()
                    w = Work(session=session, actor=actor, clock=clock, settings=settings)
                    c = factories.customer(w, name=f"{who} {i}", owner="sally")
                    customers.edit(w, c.code, region="上海")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=writer, args=(who, 5)) for who in ("sally", "sid", "sam")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = cli.ok("audit", "verify")
    assert result.stdout.startswith("chain intact:")
    assert len(cli.json("customer", "list")) == 15


# -- audit log -----------------------------------------------------------------------------------

def test_audit_log_shows_who_when_action_and_each_field_before_after(book):
    rows = book.json("audit", "log", "c-000001")
    assert {r["action"] for r in rows} == {"insert", "update"}
    phone = [r for r in rows if r["field"] == "phone"]
    assert [(r["by"], r["action"], r["before"], r["after"]) for r in phone] == [
        ("sally", "insert", None, "13800000001"), ("sam", "update", "13800000001", "13900000000")]
    assert phone[0]["at"] == "2026-03-02T09:00:00+08:00"
    created = [r for r in rows if r["field"] == "created_at"][0]
    assert created["after"] == "2026-03-02T09:00:00+08:00"  # logged in UTC, shown in local time
    assert all(r["record"] == "customer 1" for r in rows)  # events only with --all
    with_events = book.json("audit", "log", "C-000001", "--all")
    assert any(r["record"].startswith("event") for r in with_events)
    table = book.ok("audit", "log", "C-000001").stdout
    assert "13900000000" in table and "sam" in table
    csv_out = book.ok("audit", "log", "C-000001", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "entry,at,by,action,record,field,before,after"


def test_audit_log_of_a_policy_includes_its_lines_and_installments(work, cli):
    with work("sally") as w:
        factories.policy(w, factories.customer(w))
    records = {r["record"].split()[0] for r in cli.json("audit", "log", "P-000001")}
    assert {"policy", "policy_line", "installment"} <= records


def test_audit_verify_bad_head(book):
    book.fails(2, "audit", "verify", "--head", "3f9a", expect="--head '3f9a': is not a head hash")
    book.fails(2, "audit", "verify", "--head", "g" * 64)


def test_audit_log_bad_input(book):
    book.fails(3, "audit", "log", "C-000404", expect="C-000404")
    book.fails(2, "audit", "log", "C-000001", "--format", "xml")


# -- audit verify --------------------------------------------------------------------------------

def test_audit_verify_intact_exits_0(book, engine):
    n = len(entries(engine))
    result = book.ok("audit", "verify")
    assert result.stdout.startswith(f"chain intact: {n} entries")
    doc = book.json("audit", "verify")
    assert (doc["intact"], doc["entries"], doc["problem_count"], doc["problems"]) == (True, n, 0, [])


def tampered(cli, engine, sql: str, **params):
    with engine.begin() as conn:
        conn.execute(text(sql), params)
    result = cli("audit", "verify", "--format", "json")
    assert result.exit_code == EXIT_BROKEN, result.stdout + result.stderr
    assert "chain broken" in result.stderr
    return json.loads(result.stdout)


def test_an_edited_after_value_is_found(book, engine):
    doc = tampered(book, engine, "UPDATE audit_entry SET after = replace(after, '13900000000', "
                   "'13911111111') WHERE action = 'update' AND table_name = 'customer'")
    edited = [p for p in doc["problems"] if p["problem"] == "edited"]
    target = [r for r in entries(engine) if r["table_name"] == "customer" and r["action"] == "update"]
    assert [p["entry"] for p in edited] == [target[0]["id"]]
    assert doc["problems"] == edited  # the entries after it still follow it


def test_a_deleted_middle_entry_is_found(book, engine):
    doc = tampered(book, engine, "DELETE FROM audit_entry WHERE id = 3")
    assert [(p["entry"], p["problem"]) for p in doc["problems"]] == [(3, "deleted")]
    assert "entry 3 missing" in doc["problems"][0]["detail"]


def test_a_deleted_last_entry_is_found_through_the_head(book, engine):
    last = entries(engine)[-1]["id"]
    doc = tampered(book, engine, "DELETE FROM audit_entry WHERE id = :id", id=last)
    assert [(p["entry"], p["problem"]) for p in doc["problems"]] == [(last, "deleted")]


def test_swapped_entries_are_found(book, engine):
    sql = ("UPDATE audit_entry SET id = CASE id WHEN 2 THEN -2 WHEN 4 THEN -4 END WHERE id IN (2, 4);"
           "")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET id = -id WHERE id IN (2, 4)"))
        conn.execute(text("UPDATE audit_entry SET id = 4 WHERE id = -2"))
        conn.execute(text("UPDATE audit_entry SET id = 2 WHERE id = -4"))
    del sql
    result = book("audit", "verify", "--format", "json")
    assert result.exit_code == EXIT_BROKEN
    problems = json.loads(result.stdout)["problems"]
    assert {(p["entry"], p["problem"]) for p in problems} >= {(2, "edited"), (4, "edited")}


def test_an_inserted_entry_is_found(book, engine):
    """A forged entry with a correct hash, appended after the head without moving it."""
    last = entries(engine)[-1]
    forged = audit.entry(at=last["at"], actor="boss", table_name="customer", record_id=1,
                         subject="C-000001", action="update", before={"notes": None},
                         after={"notes": "forged"})
    forged["id"], forged["prev_hash"] = last["id"] + 1, last["hash"]
    forged["hash"] = audit.entry_hash(forged["id"], forged["at"], forged["actor"], "customer", 1,
                                      "C-000001", "update", forged["before"], forged["after"],
                                      last["hash"])
    with engine.begin() as conn:
        conn.execute(m.AuditEntry.__table__.insert(), [forged])
    result = book("audit", "verify", "--format", "json")
    assert result.exit_code == EXIT_BROKEN
    assert [p["problem"] for p in json.loads(result.stdout)["problems"]] == ["inserted"]


def test_an_entry_inserted_in_the_middle_is_found(book, engine):
    """Entries moved up by one to make room for a forged one: every moved entry breaks."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET id = -(id + 1) WHERE id >= 3"))
        conn.execute(text("UPDATE audit_entry SET id = -id WHERE id < 0"))
        conn.execute(text("INSERT INTO audit_entry (id, at, actor, table_name, record_id, subject,"
                          " action, before, after, prev_hash, hash) SELECT 3, at, actor,"
                          " table_name, record_id, subject, action, before, after, prev_hash,"
                          " hash FROM audit_entry WHERE id = 2"))
    result = book("audit", "verify", "--format", "json")
    assert result.exit_code == EXIT_BROKEN
    problems = json.loads(result.stdout)["problems"]
    assert problems[0]["entry"] == 3 and problems[0]["problem"] == "edited"


def test_a_business_row_edited_without_insurtrack_is_not_detectable(book, engine):
    """Documented limit: an UPDATE of a business table writes no entry, so the chain is intact."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE customer SET name = 'Someone else' WHERE code = 'C-000001'"))
    assert book.ok("audit", "verify").stdout.startswith("chain intact:")


def test_a_chain_rewritten_with_recomputed_hashes_is_caught_by_a_noted_head(book, engine):
    noted = check(engine).head
    rows = entries(engine)
    # rewrite entry 2 and every hash after it, and the head: self-consistent again
    prev = rows[0]["hash"]
    with engine.begin() as conn:
        for r in rows[1:]:
            after = r["after"].replace("Li Na", "Mallory") if r["after"] else r["after"]
            h = audit.entry_hash(r["id"], r["at"], r["actor"], r["table_name"], r["record_id"],
                                 r["subject"], r["action"], r["before"], after, prev)
            conn.execute(text("UPDATE audit_entry SET after = :a, prev_hash = :p, hash = :h "
                              "WHERE id = :id"), {"a": after, "p": prev, "h": h, "id": r["id"]})
            prev = h
        conn.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": prev})
    assert book.ok("audit", "verify").stdout.startswith("chain intact:")
    result = book("audit", "verify", "--head", noted, "--format", "json")
    assert result.exit_code == EXIT_BROKEN
    assert [p["problem"] for p in json.loads(result.stdout)["problems"]] == ["rewritten"]
    # a head noted earlier still passes while nothing was rewritten before it
    assert book.ok("audit", "verify", "--head", rows[0]["hash"]).stdout.startswith("chain intact")


def test_verify_streams_in_batches(book, engine):
    """The walk reads the chain in batches (flat memory at 1M+ entries): same result."""
    assert check(engine, batch=2).entries == len(entries(engine))
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE id = 5"))
    assert [p["entry"] for p in check(engine, batch=2).problems] == [5]


def test_audit_verify_table_lists_the_problems(book, engine):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE id = 2"))
    result = book("audit", "verify")
    assert result.exit_code == EXIT_BROKEN
    assert "deleted" in result.stdout and "entry 2 missing" in result.stdout
    assert "error: chain broken: 1 problem" in result.stderr


def test_clock_is_injected(work, engine, clock):
    clock.advance(hours=5)
    with work("sally") as w:
        factories.customer(w)
    assert {r["at"] for r in entries(engine) if r["actor"] == "sally"} == {local(2026, 3, 2, 14, 0)}


# -- any tampering is found (property) -----------------------------------------------------------

FIELDS = ["id", "at", "actor", "table_name", "record_id", "subject", "action", "before", "after",
          "prev_hash", "hash"]


def _changed(value):
    from datetime import datetime, timedelta

    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if not value:
        return "x"
    return value[:-1] + ("0" if value[-1] != "0" else "1")  # same length: fits VARCHAR(64)


@given(data=st.data())
@hyp_settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_d3_any_edit_delete_or_swap_of_entries_breaks_the_chain(book, engine, data):
    e = m.AuditEntry.__table__
    n = len(entries(engine))
    how = data.draw(st.sampled_from(["edit", "delete", "swap"]))
    target = data.draw(st.integers(1, n))
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            row = dict(conn.execute(select(e).where(e.c.id == target)).mappings().one())
            field = other = None
            if how == "edit":
                field = data.draw(st.sampled_from(FIELDS))
                new = n + 7 if field == "id" else _changed(row[field])
                conn.execute(e.update().where(e.c.id == target).values({field: new}))
            elif how == "delete":
                conn.execute(e.delete().where(e.c.id == target))
            else:
                other = data.draw(st.integers(1, n).filter(lambda i: i != target))
                other_row = dict(conn.execute(select(e).where(e.c.id == other)).mappings().one())
                rest = [f for f in FIELDS if f != "id"]
                conn.execute(e.update().where(e.c.id == target).values({f: other_row[f] for f in rest}))
                conn.execute(e.update().where(e.c.id == other).values({f: row[f] for f in rest}))
            found = audit.verify(conn)
        finally:
            tx.rollback()
    assert not found.intact
    named = {p["entry"] for p in found.problems}
    if how == "swap":
        assert {target, other} <= named
    elif how == "delete" or field != "id":
        assert target in named   # the entry edited, or where the gap starts


def test_upgrade_to_0004_keeps_the_book_and_starts_an_empty_chain(engine, work, cli):
    """A book written before migration 0004: its rows stay, the chain starts at the next change,
    and who entered the old records comes from their first event (D2)."""
    from alembic import command

    with work("sally") as w:
        factories.customer(w)
    cfg = db.alembic_config(engine)
    command.downgrade(cfg, "0003")
    assert db.current_revision(engine) == "0003"
    db.ensure_schema(engine)
    assert db.current_revision(engine) == db.SCHEMA_HEAD
    assert entries(engine) == [] and check(engine).intact
    assert [(r["code"], r["entered_by"]) for r in cli.json("verify", "list")] == [("C-000001", "sally")]
    cli.fails(5, "verify", "C-000001", as_="sally", expect="sally entered it")
    cli.ok("verify", "C-000001", as_="sid")
    assert entries(engine)[0]["id"] == 1 and check(engine).intact


def test_no_writer_bypasses_the_audited_flush():
    """Nothing is missed: the only statements that write rows around the ORM's flush (which the
    audit listener sees) touch the unaudited bookkeeping tables, or are the bulk importer's sink
    (which audits its records itself). A new Core INSERT / UPDATE / DELETE of a business table
    fails here until it writes its audit entries."""
    import re
    from pathlib import Path

    root = Path(audit.__file__).parent
    core = re.compile(r"\b(insert|update|delete)\((m\.\w+|self\.tables\[\w+\]|t)(?=[).,\s])")
    found = set()
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for match in core.finditer(path.read_text(encoding="utf-8")):
            found.add((path.relative_to(root).as_posix(), match.group(2)))
    allowed_tables = {"m.Sequence", "m.Outbox", "m.AuditEntry"}
    assert {(f, t) for f, t in found if t not in allowed_tables} == {
        ("reports/bulk.py", "self.tables[table]"), ("reports/bulk.py", "t")}
    assert audit.UNAUDITED == {"audit_entry", "audit_head", "sequence", "outbox"}
