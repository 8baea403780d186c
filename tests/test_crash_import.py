"""Crashes during `insurtrack import` (issue 6, item 6) — domain principle "nothing is lost":
every change of state is one transaction, and a crash at any point leaves the store consistent.

A real `insurtrack import customers|policies|payments FILE` process, importing 1,200 to 1,500
rows (several thousand records with their events, installments and follow-ups), is killed with SIGKILL after a random delay (a seeded RNG: the same delays on every run),
spread uniformly over the time one uninterrupted run of the same import takes (measured first,
on this machine). After each kill:

- SQLite: `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing;
  PostgreSQL enforces its constraints by construction, so there the check is that the killed
  run's server session is gone (nothing left half-open) before the book is read;
- the book is, row for row in every table, either exactly the book before the import or exactly
  the book after an uninterrupted import of the same file — never anything in between;
- a normal run of the same import then either completes (the killed run had written nothing) and
  leaves the book as the uninterrupted import did, or (the killed run had committed) refuses the
  file because every code in it is in use / nothing is outstanding, writing nothing.

Between kills the book is put back to its state before the import (SQLite's backup API; on
PostgreSQL the tables are refilled and their id sequences reset). 50 kills on SQLite (17
customers, 17 policies, 16 payments); 8 per kind on PostgreSQL, where putting the book back
costs more — still every phase of every kind of import is hit.

The outcome of each kill (none / all) depends on the machine's speed; the test asserts no
timing, only that every outcome is one of the two.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import SQLModel

from insurtrack import db
from tests.conftest import PG_URL, WORKER

REPO = Path(__file__).resolve().parents[1]
NOW = "2026-03-02T09:00:00+08:00"  # the CLI fixture's clock (tests/conftest.py)
SEED = 20261126
APP = f"insurtrack-crash-test{WORKER}"  # PGAPPNAME of the runs: their sessions are found by it
CUSTOMERS = 1500
POLICIES = 1200
KILLS = {"customers": 8, "policies": 8, "payments": 8} if PG_URL else \
        {"customers": 17, "policies": 17, "payments": 16}


# -- the files ------------------------------------------------------------------------------------

def customers_csv(n: int) -> str:
    """n customers with their codes (a repeated import is refused: the codes are in use)."""
    rows = ["code,name,owner,birth_date,region,created_at,credit_rating,risk_level"]
    for k in range(n):
        rows.append(f"C-{k + 1:06d},Customer {k},{'sally' if k % 3 else 'sid'},"
                    f"19{60 + k % 40}-0{1 + k % 9}-1{k % 10},{('Shanghai', 'Beijing')[k % 2]},"
                    f"2024-0{1 + k % 9}-{1 + k % 28:02d} 10:00,"
                    f"{'ABCD'[k % 4] if k % 5 == 0 else ''},{'high' if k % 7 == 0 else ''}")
    return "\n".join(rows) + "\n"


def policies_csv(n: int, customers: int) -> str:
    """n policies with their codes: even ones issued with an annual premium unpaid, odd ones in
    force, monthly, two of twelve installments paid (they get their follow-ups, T5-T7)."""
    rows = ["code,customer,product,sum_insured,premium,frequency,term,effective_date,"
            "paid_installments,issued_at"]
    for k in range(n):
        cust = f"C-{1 + k % customers:06d}"
        if k % 2 == 0:
            rows.append(f"P-{k + 1:06d},{cust},accident,100000,1200.00,annual,1y,2026-03-10,0,"
                        "2026-02-20 10:00")
        else:
            rows.append(f"P-{k + 1:06d},{cust},term-life,500000,1200.00,monthly,1y,2026-01-15,2,"
                        "2026-01-10 10:00")
    return "\n".join(rows) + "\n"


def payments_csv(n: int) -> str:
    """Every premium still owed on the n policies, paid in full (a repeated import is refused:
    nothing is outstanding)."""
    rows = ["policy,amount,method,paid_at,reference"]
    for k in range(n):
        amount = "1200.00" if k % 2 == 0 else "1000.00"
        rows.append(f"P-{k + 1:06d},{amount},bank_transfer,2026-03-01 1{k % 10}:00,R{k}")
    return "\n".join(rows) + "\n"


# -- the store ------------------------------------------------------------------------------------

class Store:
    """Save and put back the whole book; check it after a kill."""

    def __init__(self, url: str, folder: Path):
        self.url, self.folder = url, folder
        self.pg = url.startswith("postgresql")
        self.path = None if self.pg else url.removeprefix("sqlite:///")

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table, in primary-key order."""
        engine = db.make_engine(self.url)
        try:
            with engine.connect() as conn:
                return {t.name: [tuple(r) for r in conn.execute(
                            select(t).order_by(*t.primary_key.columns))]
                        for t in SQLModel.metadata.sorted_tables}
        finally:
            engine.dispose()

    def save(self, name: str):
        if self.pg:
            return self.snapshot()
        copy = self.folder / f"{name}.db"
        with sqlite3.connect(self.path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        return copy

    def restore(self, saved) -> None:
        if not self.pg:
            with sqlite3.connect(saved) as src, sqlite3.connect(self.path) as dst:
                src.backup(dst)
            return
        tables = SQLModel.metadata.sorted_tables
        engine = db.make_engine(self.url)
        try:
            with engine.begin() as conn:
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                for t in tables:
                    if saved[t.name]:
                        cols = list(t.columns.keys())
                        conn.execute(t.insert(), [dict(zip(cols, r)) for r in saved[t.name]])
                    if "id" in t.c:
                        conn.execute(text(
                            f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), "
                            f"COALESCE((SELECT max(id) FROM \"{t.name}\"), 0) + 1, false)"))
        finally:
            engine.dispose()

    def settle(self) -> None:
        """PostgreSQL: wait until the killed client's server sessions (application_name APP)
        have gone (a COMMIT it sent is then done or undone), so that what is read next is
        final."""
        if not self.pg:
            return
        engine = db.make_engine(self.url)
        try:
            deadline = time.monotonic() + 30
            with engine.connect() as conn:
                while True:
                    busy = conn.execute(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"
                        " AND datname = current_database()"), {"app": APP}).scalar_one()
                    conn.rollback()
                    if not busy:
                        return
                    assert time.monotonic() < deadline, "the killed run's session did not end"
                    time.sleep(0.02)
        finally:
            engine.dispose()

    def check_integrity(self) -> None:
        if self.pg:
            return
        with sqlite3.connect(self.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def which(book, before, after) -> str:
    """'none' or 'all': which of the two states the book is in; fails on anything else (a partial
    import), naming the tables that differ from both."""
    if book == before:
        return "none"
    if book == after:
        return "all"
    def state(t: str) -> str:
        return "before" if book[t] == before[t] else "after" if book[t] == after[t] else "neither"

    tables = ", ".join(f"{t} {state(t)}" for t in sorted(book) if before[t] != after[t])
    raise AssertionError(f"a partial import: the book is neither before nor after the import "
                         f"(tables: {tables})")


# -- the test -------------------------------------------------------------------------------------

def _run(env: dict, kind: str, path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "insurtrack", "import", kind, str(path)],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_kill_import_at_random_points_leaves_none_or_all(cli, tmp_path):
    """Nothing is lost, nothing is half-imported: SIGKILL at random points of 50 imports (see the
    module docstring)."""
    store = Store(cli.db_url, tmp_path)
    cli.engine.dispose()
    files = {"customers": tmp_path / "customers.csv", "policies": tmp_path / "policies.csv",
             "payments": tmp_path / "payments.csv"}
    files["customers"].write_text(customers_csv(CUSTOMERS), encoding="utf-8")
    files["policies"].write_text(policies_csv(POLICIES, CUSTOMERS), encoding="utf-8")
    files["payments"].write_text(payments_csv(POLICIES), encoding="utf-8")
    env = {**os.environ, "INSURTRACK_DB": cli.db_url, "INSURTRACK_CONFIG": cli.config_path,
           "INSURTRACK_USER": "boss", "INSURTRACK_NOW": NOW, "NO_COLOR": "1", "PGAPPNAME": APP}
    rng = random.Random(SEED)
    outcomes: dict[str, list[str]] = {}

    for kind in ("customers", "policies", "payments"):
        saved = store.save(f"before-{kind}")
        store.restore(saved)  # PostgreSQL: the id sequences where every run below finds them
        before = store.snapshot()
        started = time.perf_counter()
        done = _run(env, kind, files[kind])
        out, err = done.communicate(timeout=300)
        took = time.perf_counter() - started
        assert done.returncode == 0, err
        after = store.snapshot()
        assert after != before
        finished = store.save(f"after-{kind}")
        outcomes[kind] = []
        for _ in range(KILLS[kind]):
            store.restore(saved)
            delay = rng.uniform(0, took)
            proc = _run(env, kind, files[kind])
            time.sleep(delay)
            proc.kill()  # SIGKILL: no handler, no rollback, no atexit
            proc.communicate(timeout=60)
            store.settle()
            store.check_integrity()
            outcome = which(store.snapshot(), before, after)
            outcomes[kind].append(outcome)

            again = cli("import", kind, str(files[kind]))
            if outcome == "none":
                assert again.exit_code == 0, again.stderr
                book = store.snapshot()
                if store.pg:  # the killed transaction took id sequence values: compare counts
                    assert {t: len(r) for t, r in book.items()} == \
                           {t: len(r) for t, r in after.items()}
                else:
                    assert book == after
            else:
                assert again.exit_code == 2, again.stderr
                assert "nothing was imported" in again.stderr
                assert store.snapshot() == after
            store.check_integrity()
        store.restore(finished)
    print(f"\nkills ({'PostgreSQL' if store.pg else 'SQLite'}): "
          + "; ".join(f"{k}: {v.count('none')} before the commit, {v.count('all')} after"
                      for k, v in outcomes.items()))


def test_a_partial_import_is_detected():
    """The check above can fail: a book holding some of the file's rows is neither state."""
    before = {"customer": [(1, "a")], "event": []}
    after = {"customer": [(1, "a"), (2, "b")], "event": [(1, "customer.added")]}
    assert which(before, before, after) == "none"
    assert which(after, before, after) == "all"
    with pytest.raises(AssertionError, match=r"a partial import: .*\(tables: customer after, event before\)"):
        which({"customer": after["customer"], "event": []}, before, after)
