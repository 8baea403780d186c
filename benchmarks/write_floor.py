"""How long SQLite alone takes to write the rows an import of the 1M book's policies writes.

    python benchmarks/write_floor.py [--book .bench/book-1m.db] [--work-dir .bench]

Issue 4 has an import write what the commands write. For each policy of the benchmark book that
is its line, its premium schedule, the payments of its paid installments, its events and the
follow-ups the rules open and close: 17.3 rows per policy (benchmarks/README.md, "Import"), and
one audit entry per policy and per payment (issue 6.3). This script writes as many rows into
the project's own schema with no Python per row at all — the
book's own rows copied by `INSERT … SELECT` from the attached book (events and follow-ups
repeated up to the import's count; the audit entries made by SQL from the rows written, their
`after` the row as JSON and random hashes), in one transaction, indexes dropped first and built
again at the end with one sorting thread per CPU (what the bulk import does into an empty book)
— into a copy of a book holding only
the staff and customers, as `import-policies` gets. What it prints is a floor no importer on
SQLite can go under, whatever its language: the rows alone, before any CSV is read or any rule
applied.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# rows an import of the 1M book's policies writes, per table (README, "Import"): the book's own
# count where it holds as many, else the import's (events 3.6 and follow-ups 3.0 per policy)
TABLES = {"policy": None, "policy_line": None, "installment": None, "payment": None,
          "event": 3.6, "followup": 3.0}   # (per policy)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--book", type=Path, default=REPO / ".bench" / "book-1m.db")
    ap.add_argument("--work-dir", type=Path, default=REPO / ".bench")
    ap.add_argument("--cache-mb", type=int, default=0,
                    help="SQLite's page cache in MB (default: SQLite's own, 2 MB, as the import)")
    args = ap.parse_args(argv)
    if not args.book.is_file():
        print(f"no book at {args.book}: run benchmarks/run.py first (it builds the books)",
              file=sys.stderr)
        return 2
    target = args.work_dir / "write-floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    empty = args.work_dir / "empty.toml"
    empty.touch()
    env = dict(os.environ, INSURTRACK_DB=str(target), INSURTRACK_USER="floor",
               INSURTRACK_CONFIG=str(empty),
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    subprocess.run([sys.executable, "-m", "insurtrack", "staff", "add", "floor", "--name", "F",
                    "--dept", "manager"], env=env, check=True, stdout=subprocess.DEVNULL)
    c = sqlite3.connect(target, isolation_level=None)
    c.execute("ATTACH DATABASE ? AS b", (f"file:{args.book}?mode=ro",))
    c.execute("BEGIN")
    for table in ("audit_entry", "audit_head", "event", "staff"):
        c.execute(f"DELETE FROM main.{table}")
    for table in ("staff", "customer"):
        cols = ", ".join(r[1] for r in c.execute(f"PRAGMA main.table_info({table})"))
        c.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM b.{table}")
    c.execute("COMMIT")
    c.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 8)}")  # as bulk.py builds indexes
    if args.cache_mb:
        c.execute(f"PRAGMA cache_size = -{args.cache_mb * 1024}")

    t0 = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    dropped = []
    for table in (*TABLES, "audit_entry"):
        for name, sql in c.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' "
                                   "AND tbl_name = ? AND sql IS NOT NULL", (table,)).fetchall():
            c.execute(f'DROP INDEX main."{name}"')
            dropped.append(sql)
    total = 0
    for table, want in TABLES.items():
        t1 = time.perf_counter()
        mine = [r[1] for r in c.execute(f"PRAGMA main.table_info({table})")
                if not (want and r[1] == "id")]
        theirs = {r[1] for r in c.execute(f"PRAGMA b.table_info({table})")}
        picked = ", ".join(col if col in theirs else "NULL" for col in mine)
        source = f"b.{table}"
        if want:  # the book's rows again and again, up to the import's count
            policies = c.execute("SELECT count(*) FROM b.policy").fetchone()[0]
            have = c.execute(f"SELECT count(*) FROM b.{table}").fetchone()[0]
            rows = round(want * policies)
            copies = -(-rows // max(have, 1))
            source = (f"(SELECT src.* FROM (WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL "
                      f"SELECT n + 1 FROM k WHERE n < {copies}) SELECT n FROM k) AS k, "
                      f"b.{table} AS src LIMIT {rows})")
        n = c.execute(f"INSERT INTO main.{table} ({', '.join(mine)}) "
                      f"SELECT {picked} FROM {source}").rowcount
        total += n
        print(f"  {table:12} {n:>10,} rows  {time.perf_counter() - t1:6.1f} s", flush=True)
    t1 = time.perf_counter()
    n = 0
    for table in ("policy", "payment"):  # one entry per policy and per payment, as imported
        cols = [r[1] for r in c.execute(f"PRAGMA main.table_info({table})")]
        doc = ", ".join(f"'{col}', {col}" for col in cols)
        n += c.execute(
            "INSERT INTO main.audit_entry (at, actor, table_name, record_id, subject, action, "
            "before, after, prev_hash, hash) "
            f"SELECT '2026-11-25 01:00:00.000000', 'floor', '{table}', "
            f"{'id' if table == 'policy' else 'NULL'}, {'code' if table == 'policy' else 'NULL'}, "
            f"'insert', NULL, json_object({doc}, 'imported', 'policies.csv'), "
            f"lower(hex(randomblob(32))), lower(hex(randomblob(32))) FROM main.{table}").rowcount
    total += n
    print(f"  {'audit_entry':12} {n:>10,} rows  {time.perf_counter() - t1:6.1f} s", flush=True)
    t1 = time.perf_counter()
    for sql in dropped:
        c.execute(sql)
    print(f"  {len(dropped)} indexes built  {time.perf_counter() - t1:6.1f} s", flush=True)
    t1 = time.perf_counter()
    c.execute("COMMIT")
    print(f"  commit              {time.perf_counter() - t1:6.1f} s")
    took = time.perf_counter() - t0
    policies = c.execute("SELECT count(*) FROM main.policy").fetchone()[0]
    print(f"{total:,} rows for {policies:,} policies in {took:.1f} s: {policies / took:,.0f} "
          f"policies/s at most (the budget asks 100,000/s)")
    c.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
