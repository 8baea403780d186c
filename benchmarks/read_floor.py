"""How long SQLite alone takes to read what `export policies` writes of the 1M book's policies.

    python benchmarks/read_floor.py [--book .bench/book-1m.db] [--threads N]

Each exported policy is its own row's cells plus what other rows hold: the codes of its customer,
owner, application and the policy it renews (four lookups by id), its product lines in line
order, and how many of its installments are paid. This script has SQLite read exactly that, in
`--threads` threads (default: one per CPU, as the export reads) over the id range split evenly,
each on its own read-only connection, and fold every value into one number — no cell written
as text, no CSV, no Python per row. Then the `sqlite3` shell's `-csv "SELECT * FROM policy"`
(the export's floor in benchmarks/run.py) on the same book for comparison.

What it prints is a floor no exporter reading this schema through SQLite can go under on this
machine: the reads alone, before a single cell is formatted. Against it, the export budget of
500,000 rows/s gives 2.0 s for 1M policies, start-up included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# every value an exported policy needs, each folded into the sum (length of text, value of
# numbers), read the way the export reads it (reports/export.py, in_sql)
PARTS = {
    "policy row": "length(p.code) + length(p.status) + length(p.frequency) + p.term_months + "
                  "length(p.effective_date) + length(p.expiry_date) + p.sum_insured + p.premium + "
                  "coalesce(p.rate_loading, 0) + length(coalesce(p.conditions, '')) + "
                  "length(p.issued_at) + length(coalesce(p.in_force_at, '')) + "
                  "length(coalesce(p.suspended_at, '')) + length(coalesce(p.expired_at, '')) + "
                  "length(coalesce(p.cancelled_at, '')) + length(coalesce(p.cancel_reason, ''))",
    "four codes": "length(k.code) + length(s.code) + length(coalesce(a.code, '')) + "
                  "length(coalesce(r.code, ''))",
    "product lines": "length((SELECT group_concat(l.product || l.sum_insured || l.premium) "
                     "FROM (SELECT product, sum_insured, premium FROM policy_line "
                     "WHERE policy_id = p.id ORDER BY id) AS l))",
}
# paid installments: counted over each thread's whole range at once, as the export counts them
# (one range of the installments' policy index, instead of a seek per policy)
PAID = ("SELECT count(*), sum(n) FROM (SELECT policy_id, count(*) AS n FROM installment "
        "WHERE policy_id BETWEEN ? AND ? AND status = 'paid' GROUP BY policy_id)")
STEPS = [*PARTS, "paid count"]
JOINS = {"four codes": "LEFT JOIN customer AS k ON k.id = p.customer_id "
                       "LEFT JOIN staff AS s ON s.id = p.owner_id "
                       "LEFT JOIN application AS a ON a.id = p.application_id "
                       "LEFT JOIN policy AS r ON r.id = p.renewed_from_id"}


def timed(book: Path, threads: int, parts: list[str]) -> tuple[float, int]:
    """Wall time of reading `parts` of every policy in `threads` threads, and the rows read."""
    uri = book.resolve().as_uri() + "?mode=ro"
    c = sqlite3.connect(uri, uri=True)
    lo, hi = c.execute("SELECT min(id), max(id) FROM policy").fetchone()
    c.close()
    step = -(-(hi - lo + 1) // threads)
    expr = " + ".join(f"({PARTS[p]})" for p in parts if p in PARTS)
    joins = " ".join(JOINS.get(p, "") for p in parts)
    sql = (f"SELECT count(*), sum({expr}) FROM policy AS p {joins} "
           "WHERE p.id BETWEEN ? AND ?")
    counts: list[int] = []
    conns = [sqlite3.connect(uri, uri=True, check_same_thread=False) for _ in range(threads)]

    def read(k: int) -> None:
        a = lo + k * step
        b = min(a + step - 1, hi)
        counts.append(conns[k].execute(sql, (a, b)).fetchone()[0])
        if "paid count" in parts:
            conns[k].execute(PAID, (a, b)).fetchone()

    workers = [threading.Thread(target=read, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    took = time.perf_counter() - t0
    for conn in conns:
        conn.close()
    return took, sum(counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--book", type=Path, default=REPO / ".bench" / "book-1m.db")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3, help="best of this many (default 3)")
    args = ap.parse_args(argv)
    if not args.book.is_file():
        print(f"no book at {args.book}: run benchmarks/run.py first (it builds the books)",
              file=sys.stderr)
        return 2
    timed(args.book, args.threads, STEPS)  # warm-up: the page cache
    print(f"{args.book}, {args.threads} thread(s), best of {args.runs}:")
    rows = 0
    for k in range(1, len(STEPS) + 1):
        parts = STEPS[:k]
        best = float("inf")
        for _ in range(args.runs):
            took, rows = timed(args.book, args.threads, parts)
            best = min(best, took)
        print(f"  {' + '.join(parts):55} {best:6.2f} s  {rows / best:>10,.0f} rows/s", flush=True)
    shell = shutil.which("sqlite3")
    if shell:
        best = float("inf")
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([shell, "-csv", str(args.book), "SELECT * FROM policy"], check=True,
                           stdout=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
        print(f"  the sqlite3 shell, -csv \"SELECT * FROM policy\" (one thread) {best:6.2f} s  "
              f"{rows / best:>10,.0f} rows/s")
    print(f"the budget's 500,000 rows/s: {rows / 500_000:.2f} s for these {rows:,} policies, "
          "start-up and every cell's text included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
