"""Whole-process timings and peak memory of insurtrack at 10k, 100k and 1M policies (issue 5).

    python benchmarks/run.py                 # everything; builds the books on first use
    python benchmarks/run.py --quick         # 10k and 100k books only (development)
    python benchmarks/run.py --only due --only help --runs 3
    python benchmarks/run.py --check         # exit 1 when a budget fails

Every figure is a fresh process (`python -c` doing what the `insurtrack` console script does,
so it works without the script installed), timed from spawn to exit: the median and the minimum
of --runs runs after one untimed warm-up run, with the peak resident memory of that process
(os.wait4's ru_maxrss). Beside each figure, its floor — the same work done by the simplest
thing that can do it — is measured in the same minute: floor and figure runs alternate.
The books come from benchmarks/generate.py into the work dir (default ./.bench/), reused while
the generator and the seed are unchanged; --books DIR copies ready-made books from DIR instead
(never writing to DIR). Every command that writes runs on a copy. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATOR = HERE / "generate.py"
PY = sys.executable
NOW = "2026-11-25T09:00:00+08:00"  # generate.py's default --today, 09:00 Asia/Shanghai
NOW_UTC = "2026-11-25 01:00:00.000000"  # the same as stored (UTC text)
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
HEAVY = ("sqlmodel", "sqlalchemy", "apprise")  # the budget: --help and completion load none
ALSO_HEAVY = ("alembic", "psycopg", "holidays")  # reported, not budgeted (tests check them)
REPORTS = ("pipeline", "sales", "tendency", "claims", "portfolio", "service", "risk")
NOTIFY_DUE = 10_000
# What the `insurtrack` console script does (pip's wrapper), without needing it installed.
LAUNCH = [PY, "-c", "import sys; sys.argv[0] = 'insurtrack'; "
                    "from insurtrack.cli.app import main; sys.exit(main())"]
NOTIFY_CONFIG = """\
# benchmarks/run.py: channels for `due --notify --dry-run` (nothing is sent in a dry run)
[notify]
staff_email_url = "json://127.0.0.1:9/notify?to={email}"

[notify.departments]
sales = ["json://127.0.0.1:9/sales"]
service = ["json://127.0.0.1:9/service"]
underwriting = ["json://127.0.0.1:9/underwriting"]
claims = ["json://127.0.0.1:9/claims"]
manager = ["json://127.0.0.1:9/manager"]
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ processes
@dataclass
class Run:
    wall: float
    cpu: float
    rss_kb: int
    rc: int
    stderr: str = ""
    timed_out: bool = False

    def failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.wall:.0f} s (--timeout)"
        return f"exit {self.rc}: {self.stderr[-2000:]}"


def spawn(argv: list[str], env: dict[str, str], *, stdout: Optional[Path] = None,
          timeout: float = 3600) -> Run:
    """Run one child to completion: wall time from spawn to reaped, its own CPU time and peak
    RSS (os.wait4 gives the rusage of exactly this child). stdout goes to a file or /dev/null."""
    out = open(stdout, "wb") if stdout else open(os.devnull, "wb")
    err_path = Path(env["BENCH_WORK"]) / "stderr.txt"
    with out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        expired = threading.Event()

        def kill():
            expired.set()
            _killpg(p.pid)
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): take the child down too
            _killpg(p.pid)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    text = err_path.read_text(errors="replace")
    return Run(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, p.returncode, text,
               expired.is_set())


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def check_call(argv: list[str], env: dict[str, str], what: str, **kw) -> Run:
    r = spawn(argv, env, **kw)
    if r.rc != 0:
        raise SystemExit(f"run.py: {what} failed: {' '.join(argv)}\n{r.failure()}")
    return r


# ------------------------------------------------------------------------------ the books
def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def complete_book(path: Path, policies: int) -> bool:
    """A finished book: generate.py writes the sequence rows in its very last transaction."""
    if not path.is_file():
        return False
    try:
        with ro(path) as c:
            row = c.execute("SELECT value FROM sequence WHERE name = 'policy'").fetchone()
        return bool(row) and row[0] == policies
    except sqlite3.Error:
        return False


def copy_db(src: Path, dst: Path) -> None:
    """A byte copy of a SQLite file and its WAL (if any); the copy's stale sidecars removed."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    if Path(f"{src}-wal").exists():
        shutil.copyfile(f"{src}-wal", f"{dst}-wal")


def checkpoint(path: Path) -> None:
    c = sqlite3.connect(path)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()


class Books:
    """book-<size>.db files in the work dir, each with a .json saying where it came from."""

    def __init__(self, work: Path, source: Optional[Path], seed: Optional[int], env_for):
        self.work, self.source, self.seed, self.env_for = work, source, seed, env_for
        self.generator = sha256(GENERATOR)
        self.meta: dict[str, dict] = {}

    def wanted(self, size: str) -> dict:
        return {"policies": SIZES[size], "seed": self.seed if self.seed is not None else "default",
                "generator_sha256": self.generator}

    def get(self, size: str) -> Path:
        if size in self.meta:
            return self.work / f"book-{size}.db"
        path, meta_path = self.work / f"book-{size}.db", self.work / f"book-{size}.json"
        meta = read_json(meta_path)
        ext = self.source / f"book-{size}.db" if self.source else None
        if meta and path.is_file() and meta.get("made") == "generated" \
                and all(meta.get(k) == v for k, v in self.wanted(size).items()):
            log(f"book {size}: reusing {path} (same generator and seed)")
        elif meta and path.is_file() and meta.get("made") == "copied" and ext \
                and meta.get("source") == str(ext) and ext.is_file() \
                and meta.get("source_stat") == _stat(ext):
            log(f"book {size}: reusing {path} (copy of {ext}, unchanged)")
        elif ext and complete_book(ext, SIZES[size]):
            log(f"book {size}: copying {ext} (read-only source) to {path}")
            meta_path.unlink(missing_ok=True)
            copy_db(ext, path)
            meta = {"made": "copied", "source": str(ext), "source_stat": _stat(ext),
                    "policies": SIZES[size], "note": "generator version and seed not recorded"}
            meta_path.write_text(json.dumps(meta, indent=1))
        else:
            if ext:
                log(f"book {size}: {ext} missing or unfinished")
            meta = self.generate(size, path, meta_path)
        self.migrate(path)
        self.meta[size] = meta
        return path

    def generate(self, size: str, path: Path, meta_path: Path) -> dict:
        meta_path.unlink(missing_ok=True)
        part = self.work / f"book-{size}.part.db"
        argv = [PY, str(GENERATOR), "--policies", str(SIZES[size]), "--out", str(part)]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        log(f"book {size}: generating ({' '.join(argv[1:])}); 1M takes several minutes")
        t0 = time.perf_counter()
        r = check_call(argv, self.env_for(None), f"generating the {size} book",
                       stdout=self.work / f"generate-{size}.json")
        counts = read_json(self.work / f"generate-{size}.json") or {}
        checkpoint(part)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(part, path)
        meta = {"made": "generated", **self.wanted(size), "counts": counts,
                "seconds": round(time.perf_counter() - t0, 1), "peak_mb": mb(r.rss_kb)}
        meta_path.write_text(json.dumps(meta, indent=1))
        return meta

    def migrate(self, path: Path) -> None:
        """Bring the book to the current schema head (a no-op when it is there)."""
        check_call([PY, "-c", "import sys; from insurtrack import db; "
                              "db.ensure_schema(db.make_engine('sqlite:///' + sys.argv[1]))",
                    str(path)], self.env_for(path), f"migrating {path}")


def _stat(p: Path) -> list:
    st = p.stat()
    return [st.st_size, int(st.st_mtime)]


def mb(kb: int) -> float:
    return round(kb * 1024 / 1e6, 1)


# ------------------------------------------------------------------------------ benchmarks
@dataclass
class Cmd:
    argv: list[str]
    db: Optional[Path] = None
    config: Optional[Path] = None
    extra_env: dict[str, str] = field(default_factory=dict)
    stdout: str = "file"  # "file" (kept for checks) or "devnull"
    prepare: Optional[Callable[[], None]] = None  # before each run, untimed (fresh copies)
    label: str = ""


@dataclass
class Bench:
    name: str
    size: str  # book size, or "-" when no book is involved
    title: str
    cmd: Callable[[], Cmd]  # built lazily: setting up its book only when selected
    floor: Optional[Callable[[], Cmd]] = None
    floor_title: str = ""
    rows: Optional[Callable[[], int]] = None  # for rows/s
    budgets: list = field(default_factory=list)  # (text, check(result) -> bool | None)
    check_output: Optional[Callable[[Path], Optional[str]]] = None
    heavy_check: bool = False
    warmup: bool = True


class Harness:
    def __init__(self, args):
        self.args = args
        self.work = args.work_dir.resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "out").mkdir(exist_ok=True)
        self.empty_config = self.work / "empty.toml"
        self.empty_config.write_text("")
        self.notify_config = self.work / "notify.toml"
        self.notify_config.write_text(NOTIFY_CONFIG)
        self.books = Books(self.work, args.books.resolve() if args.books else None, args.seed,
                           self.env)
        self.big = "100k" if args.quick else "1m"
        self.sizes = ["10k", "100k"] if args.quick else ["10k", "100k", "1m"]
        self._cache: dict[str, object] = {}

    def once(self, key: str, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -------------------------------------------------------------- environment
    def env(self, db: Optional[Path], config: Optional[Path] = None,
            extra: Optional[dict] = None) -> dict[str, str]:
        # (PYTHONDONTWRITEBYTECODE: a shell that sets it would have every run compile the
        # program's sources again; an installed program runs from its cached bytecode, which
        # the warm-up run writes)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("INSURTRACK_", "_INSURTRACK_", "COMP_"))
               and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
        env.update(INSURTRACK_USER="bench", INSURTRACK_CONFIG=str(config or self.empty_config),
                   INSURTRACK_NOW=NOW, NO_COLOR="1", BENCH_WORK=str(self.work),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
        if db is not None:
            env["INSURTRACK_DB"] = str(db)
        else:  # never the user's own database
            env["INSURTRACK_DB"] = str(self.work / "none.db")
        env.update(extra or {})
        return env

    # -------------------------------------------------------------- fixtures
    def book(self, size: str) -> Path:
        return self.books.get(size)

    def empty_db(self) -> Path:
        """A fresh migrated database holding only the `bench` staff member."""
        def make():
            path = self.work / "empty.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            check_call(LAUNCH + ["staff", "add", "bench", "--name", "Benchmark", "--dept",
                                 "manager"], self.env(path), "creating the empty database")
            return path
        return self.once("empty", make)

    def notify_db(self) -> Path:
        """A copy of the 100k book where exactly NOTIFY_DUE open follow-ups fall due today
        (at 17:00 local, warned at 08:00) and every other open one months later."""
        def make():
            src, path = self.book("100k"), self.work / "notify-100k.db"
            log(f"notify: copying the 100k book to {path}, {NOTIFY_DUE} follow-ups due today")
            copy_db(src, path)
            c = sqlite3.connect(path, isolation_level=None)
            c.execute("BEGIN")
            # generate.py opens a few follow-ups of policies issued after "now": bring them back
            c.execute("UPDATE followup SET opened_at = '2026-11-24 01:00:00.000000', "
                      "started_at = '2026-11-24 01:00:00.000000' "
                      "WHERE status = 'open' AND opened_at > ?", (NOW_UTC,))
            ids = [r[0] for r in c.execute(
                "SELECT id FROM followup WHERE status = 'open' AND opened_at <= ? ORDER BY id",
                (NOW_UTC,))]
            if len(ids) < NOTIFY_DUE:
                raise SystemExit(f"run.py: the 100k book has {len(ids)} open follow-ups opened "
                                 f"by now, fewer than {NOTIFY_DUE}")
            # the clock in force is the last entry of `history` ([since, due, warn], ISO
            # instants); due_at / warn_at are its indexed copy: both are set
            c.execute("UPDATE followup SET due_at = '2027-03-01 09:00:00.000000', "
                      "warn_at = '2027-02-20 00:00:00.000000' WHERE status = 'open'")
            c.executemany("UPDATE followup SET due_at = '2026-11-25 09:00:00.000000', "
                          "warn_at = '2026-11-25 00:00:00.000000' WHERE id = ?",
                          [(i,) for i in ids[:NOTIFY_DUE]])
            c.execute("UPDATE followup SET pauses = '[]', paused_at = NULL, history = json_array("
                      "json_array(replace(opened_at, ' ', 'T') || '+00:00', "
                      "replace(due_at, ' ', 'T') || '+00:00', "
                      "replace(warn_at, ' ', 'T') || '+00:00')) WHERE status = 'open'")
            c.execute("DELETE FROM outbox")
            c.execute("COMMIT")
            c.close()
            checkpoint(path)
            r = check_call(LAUNCH + ["due", "--format", "json"], self.env(path),
                           "checking the notify book", stdout=self.work / "out" / "notify-due.json")
            n = len(json.loads((self.work / "out" / "notify-due.json").read_text()))
            if n != NOTIFY_DUE:
                raise SystemExit(f"run.py: `due` lists {n} items on {path}, not {NOTIFY_DUE}")
            return path
        return self.once("notify", make)

    def policies_csv(self) -> tuple[Path, int]:
        """The big book's policies as `insurtrack export policies` writes them (made afresh
        on every invocation, so that the file follows the current export code)."""
        def make():
            book, path = self.book(self.big), self.work / f"policies-{self.big}.csv"
            log(f"import: exporting the {self.big} book's policies to {path}")
            check_call(LAUNCH + ["export", "policies"], self.env(book), "exporting policies",
                       stdout=path)
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = sum(1 for _ in csv.reader(f)) - 1
            return path, rows
        return self.once("csv", make)

    def import_base(self) -> Path:
        """A book with the big book's staff and customers and nothing else: the target every
        import run gets a fresh copy of."""
        def make():
            book = self.book(self.big)
            path, meta_path = self.work / f"import-base-{self.big}.db", \
                self.work / f"import-base-{self.big}.json"
            want = {"book": self.books.meta[self.big], "book_stat": _stat(book)}
            if path.is_file() and read_json(meta_path) == want:
                self.books.migrate(path)
                return path
            log(f"import: building {path} (staff and customers of the {self.big} book)")
            meta_path.unlink(missing_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            self.books.migrate(path)
            c = sqlite3.connect(path, isolation_level=None)
            c.execute("ATTACH DATABASE ? AS src", (f"file:{book}?mode=ro",))
            c.execute("BEGIN")
            for table in ("staff", "customer"):
                mine = [r[1] for r in c.execute(f"PRAGMA main.table_info({table})")]
                theirs = {r[1] for r in c.execute(f"PRAGMA src.table_info({table})")}
                cols = ", ".join(col for col in mine if col in theirs)
                c.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM src.{table}")
            c.execute("INSERT INTO main.sequence (name, value) "
                      "SELECT name, value FROM src.sequence WHERE name = 'customer'")
            c.execute("COMMIT")
            c.execute("DETACH DATABASE src")
            c.execute("ANALYZE")
            c.close()
            checkpoint(path)
            meta_path.write_text(json.dumps(want, indent=1))
            return path
        return self.once("import-base", make)

    # -------------------------------------------------------------- the list
    def benches(self) -> list[Bench]:
        big = self.big
        b: list[Bench] = []
        typer_floor = lambda: Cmd([PY, "-c", "import typer"], label='python -c "import typer"')
        fast = ("at most 1.5x floor", lambda r: ratio_ok(r, 1.5))
        light = ("imports none of " + "/".join(HEAVY), lambda r: not r.get("heavy_modules"))
        b.append(Bench("help", "-", "insurtrack --help", lambda: Cmd(LAUNCH + ["--help"]),
                       typer_floor, 'python -c "import typer"', budgets=[light, fast],
                       check_output=lambda p: None if "Usage" in p.read_text() else "no usage",
                       heavy_check=True))
        b.append(Bench("completion", "-", "Tab completion (insurtrack cu<Tab>)",
                       lambda: Cmd(LAUNCH, extra_env={"_INSURTRACK_COMPLETE": "complete_bash",
                                                      "COMP_WORDS": "insurtrack cu",
                                                      "COMP_CWORD": "1"}),
                       typer_floor, 'python -c "import typer"', budgets=[light, fast],
                       check_output=lambda p: None if "customer" in p.read_text()
                       else f"no 'customer' in the completions: {p.read_text()[:200]!r}",
                       heavy_check=True))
        empty_floor = lambda *extra: (lambda: Cmd(LAUNCH + ["due", *extra], self.empty_db()))
        b.append(Bench("show", big, "customer show C-000123",
                       lambda: Cmd(LAUNCH + ["customer", "show", "C-000123"], self.book(big)),
                       empty_floor(), "`due` on an empty database (a minimal command)"))
        for size in self.sizes:
            for fmt in ([], ["--format", "json"]):
                at_big = size == big
                budgets = []
                if at_big:
                    budgets = [("at most 1.3x floor", lambda r: ratio_ok(r, 1.3)),
                               ("under 0.35 s", lambda r: r["wall"]["median"] < 0.35),
                               ("peak under 200 MB", lambda r: r["peak_mb"] < 200)]
                b.append(Bench(
                    "due" + ("-json" if fmt else "") + f"-{size}", size,
                    "due" + (" --format json" if fmt else ""),
                    (lambda s=size, f=fmt: Cmd(LAUNCH + ["due", *f], self.book(s))),
                    empty_floor(*fmt), "the same on an empty database", budgets=budgets,
                    check_output=json_list if fmt else None))
        b.append(Bench("notify-dry-run", "100k",
                       f"due --notify --dry-run, {NOTIFY_DUE:,} items due",
                       lambda: Cmd(LAUNCH + ["due", "--notify", "--dry-run"], self.notify_db(),
                                   self.notify_config),
                       lambda: Cmd(LAUNCH + ["due", "--notify", "--dry-run"], self.empty_db(),
                                   self.notify_config),
                       "the same on an empty database"))
        for rep in REPORTS:
            b.append(Bench(f"report-{rep}", big, f"report {rep}",
                           (lambda r=rep: Cmd(LAUNCH + ["report", r], self.book(big))),
                           budgets=[("under 2 s", lambda r: r["wall"]["median"] < 2.0)]))
        n_policies = SIZES[big]
        b.append(Bench(
            "export-policies", big, "export policies > /dev/null",
            lambda: Cmd(LAUNCH + ["export", "policies"], self.book(big), stdout="devnull"),
            lambda: Cmd(["sqlite3", "-csv", str(self.book(big)), "SELECT * FROM policy"],
                        stdout="devnull", label="sqlite3 -csv BOOK 'SELECT * FROM policy'"),
            "sqlite3 -csv BOOK 'select * from policy' > /dev/null",
            rows=lambda: n_policies,
            budgets=[("at least 500,000 rows/s", lambda r: r["rows_per_s"] >= 500_000),
                     ("at most 3x floor", lambda r: ratio_ok(r, 3.0)),
                     ("peak under 200 MB", lambda r: r["peak_mb"] < 200)]))
        b.append(Bench(
            "import-policies", big, "import policies (the exported CSV, into a fresh copy "
                                    "of a book with only staff and customers)",
            self.import_cmd, self.import_floor,
            "sqlite3 BOOK '.import --csv FILE t' (a plain new table)",
            rows=lambda: self.policies_csv()[1], warmup=False,
            budgets=[("at least 100,000 rows/s", lambda r: r["rows_per_s"] >= 100_000),
                     ("at most 4x floor", lambda r: ratio_ok(r, 4.0)),
                     ("peak under 200 MB", lambda r: r["peak_mb"] < 200)],
            check_output=lambda _: self.imported_all()))
        return b

    def import_cmd(self) -> Cmd:
        csv_path, _ = self.policies_csv()
        base, target = self.import_base(), self.work / "import-target.db"
        return Cmd(LAUNCH + ["import", "policies", str(csv_path)], target,
                   prepare=lambda: copy_db(base, target))

    def imported_all(self) -> Optional[str]:
        _, rows = self.policies_csv()
        with ro(self.work / "import-target.db") as c:
            n = c.execute("SELECT count(*) FROM policy").fetchone()[0]
        return None if n == rows else f"the book holds {n} policies after importing {rows} rows"

    def import_floor(self) -> Cmd:
        csv_path, _ = self.policies_csv()
        target = self.work / "import-floor.db"

        def fresh():
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        return Cmd(["sqlite3", str(target), f".import --csv {csv_path} t"], prepare=fresh,
                   label=f"sqlite3 {target.name} '.import --csv {csv_path.name} t'")

    # -------------------------------------------------------------- measuring
    def run_cmd(self, cmd: Cmd, name: str) -> Run:
        if cmd.prepare:
            cmd.prepare()
        out = None if cmd.stdout == "devnull" else self.work / "out" / f"{name}.out"
        env = self.env(cmd.db, cmd.config, cmd.extra_env)
        return spawn(cmd.argv, env, stdout=out, timeout=self.args.timeout)

    def heavy_modules(self, cmd: Cmd) -> list[str]:
        """The heavy modules the very same process imports (python -X importtime)."""
        argv = [cmd.argv[0], "-X", "importtime", *cmd.argv[1:]]
        r = spawn(argv, self.env(cmd.db, cmd.config, cmd.extra_env), timeout=self.args.timeout)
        loaded = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                  for line in r.stderr.splitlines() if line.startswith("import time:")}
        return sorted(loaded & set(HEAVY + ALSO_HEAVY))

    def failed(self, res: dict, bench: Bench, r: Run) -> dict:
        """A run that failed: a timeout is over any budget (FAIL); anything else is an ERROR."""
        if r.timed_out and bench.budgets:
            return {**res, "timed_out": True, "error": r.failure(),
                    "budgets": [{"budget": text, "ok": False} for text, _ in bench.budgets],
                    "result": "FAIL"}
        hint = ("\n(the book's policies do not import as exported: benchmarks/README.md, "
                "'Import')") if bench.name == "import-policies" and "are bad" in r.stderr else ""
        return {**res, "error": r.failure() + hint, "result": "ERROR"}

    def measure(self, bench: Bench) -> dict:
        res: dict = {"name": bench.name, "size": bench.size, "title": bench.title}
        try:
            cmd = bench.cmd()
            floor = bench.floor() if bench.floor else None
            if floor and floor.argv[0] == "sqlite3" and not shutil.which("sqlite3"):
                log("  the sqlite3 shell is not installed: no floor")
                floor = None
            rows = bench.rows() if bench.rows else None
        except SystemExit as exc:
            return {**res, "error": str(exc), "result": "ERROR"}
        res["command"] = cmd.label or (
            "insurtrack " + " ".join(cmd.argv[len(LAUNCH):]) if cmd.argv[:len(LAUNCH)] == LAUNCH
            else " ".join(cmd.argv))
        if cmd.db:
            res["database"] = str(cmd.db)
        if floor:
            res["floor_command"] = floor.label or "insurtrack " + " ".join(
                floor.argv[len(LAUNCH):]) + " (empty database)"
        # one untimed warm-up of each (page cache, .pyc files), checked
        runs, floor_runs, spent, todo = [], [], 0.0, self.args.runs
        if bench.warmup:
            warm = self.run_cmd(cmd, bench.name)
            if warm.rc != 0:
                return self.failed(res, bench, warm)
            if warm.wall > self.args.max_seconds:  # far off any budget: once is enough
                log(f"  the warm-up took {warm.wall:.0f} s > --max-seconds: it is the only run")
                runs, todo = [warm], 0
                res["note"] = "one run (the warm-up took longer than --max-seconds)"
            if floor:
                fw = self.run_cmd(floor, bench.name + ".floor")
                if fw.rc != 0:
                    return {**res, "error": "floor " + fw.failure(), "result": "ERROR"}
                if not todo:
                    floor_runs = [fw]
        for i in range(todo):  # floor and figure alternate: the same machine load
            if floor:
                fr = self.run_cmd(floor, bench.name + ".floor")
                if fr.rc != 0:
                    return {**res, "error": "floor " + fr.failure(), "result": "ERROR"}
                floor_runs.append(fr)
            r = self.run_cmd(cmd, bench.name)
            if r.rc != 0:
                return self.failed(res, bench, r)
            if i == 0 and bench.check_output:
                problem = bench.check_output(self.work / "out" / f"{bench.name}.out")
                if problem:
                    return {**res, "error": problem, "result": "ERROR"}
            runs.append(r)
            spent += r.wall
            if len(runs) >= 3 and spent > self.args.max_seconds and len(runs) < self.args.runs:
                log(f"  stopping after {len(runs)} runs: {spent:.0f} s > --max-seconds")
                res["note"] = f"{len(runs)} runs (they took longer than --max-seconds)"
                break
        res.update(stats(runs))
        if floor:
            res["floor"] = stats(floor_runs)
            res["ratio"] = round(res["wall"]["median"] / res["floor"]["wall"]["median"], 2)
        if rows:
            res["rows"] = rows
            res["rows_per_s"] = round(rows / res["wall"]["median"])
            if floor:
                res["floor"]["rows_per_s"] = round(rows / res["floor"]["wall"]["median"])
        if bench.heavy_check:
            loaded = self.heavy_modules(cmd)
            res["heavy_modules"] = [m for m in loaded if m in HEAVY]
            res["other_heavy_modules"] = [m for m in loaded if m in ALSO_HEAVY]
        checks = []
        for text, check in bench.budgets:
            ok = check(res)
            checks.append({"budget": text, "ok": bool(ok)})
        res["budgets"] = checks
        res["result"] = ("PASS" if all(c["ok"] for c in checks) else "FAIL") if checks else "-"
        return res


def ratio_ok(res: dict, limit: float) -> bool:
    return res.get("ratio") is not None and res["ratio"] <= limit


def json_list(path: Path) -> Optional[str]:
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        return f"not JSON: {exc}"
    return None if isinstance(data, list) else "not a JSON list"


def stats(runs: list[Run]) -> dict:
    walls = [r.wall for r in runs]
    return {"wall": {"median": round(statistics.median(walls), 4), "min": round(min(walls), 4),
                     "runs": [round(w, 4) for w in walls]},
            "cpu": {"median": round(statistics.median(r.cpu for r in runs), 4)},
            "peak_mb": max(mb(r.rss_kb) for r in runs)}


# ------------------------------------------------------------------------------ reporting
def machine() -> dict:
    info = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "sqlite_library": sqlite3.sqlite_version, "loadavg_start": _loadavg()}
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) * 1024 / 1e9, 1)
    except OSError:
        pass
    if shutil.which("sqlite3"):
        v = subprocess.run(["sqlite3", "--version"], capture_output=True, text=True)
        info["sqlite_shell"] = v.stdout.split(" ")[0].strip()
    from importlib import metadata

    info["packages"] = {}
    for pkg in ("typer", "click", "rich", "SQLAlchemy", "sqlmodel", "alembic", "apprise"):
        try:
            info["packages"][pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "insurtrack"],
                               capture_output=True, text=True, timeout=30)
        if head.returncode == 0:
            info["git_commit"] = head.stdout.strip()
            info["git_insurtrack_modified"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def fmt_s(x: Optional[float]) -> str:
    if x is None:
        return "-"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def fmt_rate(x: Optional[float]) -> str:
    return "-" if x is None else f"{x / 1000:,.0f}k/s"


HEAD = ("benchmark", "size", "runs", "median", "min", "floor", "ratio", "rows/s", "floor rows/s",
        "peak MB", "budget", "result")


def row_of(r: dict) -> list[str]:
    if r.get("timed_out"):
        return [r["name"], r["size"], "0", f">{r['error'].split()[3]} s", "-", "-", "-", "-",
                "-", "-", "timed out (--timeout)", r["result"]]
    if r.get("result") == "ERROR":
        lines = r.get("error", "").strip().splitlines() or ["error"]
        line = next((x for x in reversed(lines) if x.startswith("error:")), lines[-1])
        return [r["name"], r["size"], "-", "-", "-", "-", "-", "-", "-", "-",
                ("" if line.startswith("error:") else "error: ") + line[:70], "ERROR"]
    fl = r.get("floor")
    budget = "; ".join(("" if c["ok"] else "!") + c["budget"] for c in r.get("budgets", []))
    return [r["name"], r["size"], str(len(r["wall"]["runs"])), fmt_s(r["wall"]["median"]),
            fmt_s(r["wall"]["min"]),
            fmt_s(fl["wall"]["median"]) if fl else "-",
            f"{r['ratio']:.2f}x" if r.get("ratio") is not None else "-",
            fmt_rate(r.get("rows_per_s")), fmt_rate(fl.get("rows_per_s")) if fl else "-",
            f"{r['peak_mb']:.0f}", budget or "-", r["result"]]


def markdown(results: list[dict]) -> str:
    """The table for benchmarks/README.md."""
    rows = [row_of(r) for r in results]
    out = ["| " + " | ".join(HEAD) + " |",
           "|" + "|".join("---:" if i in range(2, 10) else "---" for i in range(len(HEAD))) + "|"]
    for row in rows:
        row = [c.replace("|", "/") for c in row]
        row[-2] = row[-2].replace("!", "✗ ")
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def table(results: list[dict]) -> str:
    rows = [list(HEAD)] + [row_of(r) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEAD))]
    right = {2, 3, 4, 5, 6, 7, 8, 9}
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main
def save(args, h: Harness, info: dict, results: list[dict], patterns: list[str],
         done: bool = False) -> None:
    out = {"complete": done, "machine": info,
           "options": {"quick": args.quick, "runs": args.runs, "only": patterns,
                       "work_dir": str(h.work), "books_from": str(args.books) if args.books
                       else None, "now": NOW, "timeout": args.timeout,
                       "max_seconds": args.max_seconds},
           "books": h.books.meta, "results": results,
           "over_budget": [r["name"] for r in results if r["result"] == "FAIL"],
           "errors": [r["name"] for r in results if r["result"] == "ERROR"]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_name(args.json.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, args.json)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Benchmarks: help completion show due-SIZE due-json-SIZE "
                                        "notify-dry-run report-NAME export-policies "
                                        "import-policies (see --list).")
    ap.add_argument("--quick", action="store_true",
                    help="10k and 100k books only: the 1M figures are taken at 100k")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run only these benchmarks: a name, a prefix (due, report) or a glob "
                         "(due-*-1m); repeatable or comma-separated")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--work-dir", type=Path, default=REPO / ".bench",
                    help="books, copies and scratch files (default ./.bench)")
    ap.add_argument("--books", type=Path, default=None, metavar="DIR",
                    help="take finished book-10k.db / book-100k.db / book-1m.db from DIR "
                         "(copied into the work dir, DIR is never written)")
    ap.add_argument("--seed", type=int, default=None, help="generator seed (default: its own)")
    ap.add_argument("--json", type=Path, default=HERE / "results.json", metavar="PATH",
                    help="where to write the results (default benchmarks/results.json)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a budget fails")
    ap.add_argument("--timeout", type=float, default=1200,
                    help="seconds one process may take before it is killed and reported as "
                         "timed out (default 1200)")
    ap.add_argument("--max-seconds", type=float, default=300,
                    help="a figure whose timed runs pass this many seconds in all stops after "
                         "3 runs; one whose warm-up alone does is measured once (default 300)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--markdown", type=Path, metavar="JSON",
                    help="print the results in JSON (a results.json) as a Markdown table for "
                         "benchmarks/README.md, and exit")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # children are killed on the way out
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())["results"]))
        return 0
    h = Harness(args)
    benches = h.benches()
    if args.list:
        for b in benches:
            print(f"{b.name:22} {b.size:5} {b.title}")
        return 0
    patterns = [p.strip() for o in args.only for p in o.split(",") if p.strip()]
    if patterns:
        benches = [b for b in benches if any(
            b.name == p or b.name.startswith(p) or fnmatch.fnmatch(b.name, p) for p in patterns)]
        if not benches:
            ap.error(f"--only {' '.join(patterns)}: no such benchmark (see --list)")

    info = machine()
    log(f"run.py: {len(benches)} benchmark(s), {args.runs} run(s) each after a warm-up; "
        f"work dir {h.work}")
    results = []
    for b in benches:
        log(f"- {b.name}: {b.title}")
        t0 = time.perf_counter()
        r = h.measure(b)
        r["seconds_spent"] = round(time.perf_counter() - t0, 1)
        results.append(r)
        log("  " + "  ".join(f"{k}={v}" for k, v in zip(HEAD[2:], row_of(r)[2:]))
            + f"  ({r['seconds_spent']} s)")
        save(args, h, info, results, patterns)  # after each figure: an interrupted run keeps them
    info["loadavg_end"] = _loadavg()

    print()
    print(table(results))
    failed = [r["name"] for r in results if r["result"] == "FAIL"]
    errors = [r["name"] for r in results if r["result"] == "ERROR"]
    for r in results:
        if r.get("heavy_modules") or r.get("other_heavy_modules"):
            print(f"{r['name']}: imports {', '.join(r['heavy_modules'] + r['other_heavy_modules'])}")
        if r["result"] == "ERROR":
            print(f"{r['name']}: ERROR {r.get('error', '')[-1500:]}")
    passed = sum(r["result"] == "PASS" for r in results)
    print(f"\n{passed} within budget, {len(failed)} over budget"
          f"{': ' + ', '.join(failed) if failed else ''}"
          f"{f', {len(errors)} error(s): ' + ', '.join(errors) if errors else ''}, "
          f"{sum(r['result'] == '-' for r in results)} without a budget"
          f"{' (quick: the 1M figures taken at 100k)' if args.quick else ''}. "
          f"Machine: {info.get('cpu_count')} CPUs, load {info['loadavg_start']} -> "
          f"{info['loadavg_end']}.")
    save(args, h, info, results, patterns, done=True)
    log(f"run.py: results written to {args.json}")
    if errors:
        return 2
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
