"""Concurrent staff (issue 6, item 5): several people and cron write to one store at once.

Eight OS processes, released together, each take their customers from the first conversation to
an issued, paid and revisited policy and a reported, contacted claim — every step a separate
command run, as staff of four departments (sales, underwriting, service, claims) would type them.
Meanwhile cron runs `insurtrack due --notify` again and again (and once with --dry-run) in its
own processes, posting digests to a local webhook receiver.

Then: every command exited 0 and nothing but the commands' own messages reached stderr (no
"database is locked", no error, no traceback); the exact numbers of customers, applications,
policies, payments, revisits, claims, events and follow-ups are there; every kind of code is
unique and contiguous (C-000001…C-000016 for 16 customers); every record has its event, by the
person who made it; every in-force policy has its follow-ups; every notification was queued once
and delivered at most once, and every late premium reminder reached its department.

Runs against the SQLite file of the test, or, with INSURTRACK_TEST_DATABASE_URL, PostgreSQL.
Also here: what makes that hold — writers wait for the lock up front, each retrying every few
milliseconds up to database.busy_timeout_ms (SQLite, db.py); a transaction PostgreSQL aborts as
a deadlock or serialization failure is run again from the start (cli/app.py); codes are drawn
with one atomic upsert (services/base.py); and the first commands after an upgrade, all at once,
upgrade the schema once (db.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKERS = 8
STORIES = 2  # customers per worker
CUSTOMERS = WORKERS * STORIES
NOW = "2026-03-02T09:00:00+08:00"  # the staff's clock: Monday morning
# Cron's clock: three months on, every policy's premium reminder (due 7 days before the second
# installment, 2 June) is late; items of stories still in flight are late too.
CRON_NOW = "2026-05-27T09:00:00+08:00"
DEPARTMENTS = ("sales", "underwriting", "service", "claims", "manager")

# What one story leaves behind: events by type, follow-ups by (rule, status).
STORY_EVENTS = Counter({
    "customer.added": 1, "customer.needs": 1, "application.created": 1,
    "application.plan_delivered": 1, "application.document_received": 1,
    "application.reviewed": 1, "application.submitted": 1, "application.accepted": 1,
    "application.issued": 1, "policy.issued": 1, "premium.paid": 1, "policy.in_force": 1,
    "revisit.first_contact": 1, "claim.reported": 1, "claim.contacted": 1,
})
STORY_FOLLOWUPS = Counter({
    ("plan-delivery", "done"): 1,                  # T2
    ("application-status-check", "cancelled"): 1,  # T3: the application left the pipeline
    ("underwriting-decision", "done"): 1,          # T4
    ("first-contact", "done"): 1,                  # T5
    ("quarterly-revisit", "open"): 1,              # T6
    ("premium-reminder", "open"): 1,               # T7
    ("premium-overdue", "open"): 1,                # T7
    ("renewal-reminder", "open"): 1,               # T7
    ("claim-first-contact", "done"): 1,            # T9
})
# Lines a command may print on stderr: its own report of what it did.
NOTIFY_LINE = re.compile(r"queued \d+, sent \d+ digest\(s\)")
TROUBLE = re.compile(r"error|locked|busy|traceback|deadlock|serializ|could not|internal",
                     re.IGNORECASE)


# ------------------------------------------------------------------------------------ the worker

def _people(index: int) -> dict[str, str]:
    """Who does what for worker `index` (tests/conftest.py STAFF): two of each desk but service."""
    pick = index % 2
    return {"sales": ("sally", "sid")[pick], "underwriting": ("uma", "ulf")[pick],
            "service": "sam", "claims": ("carl", "cora")[pick]}


def _cli(people: dict[str, str]):
    """Run commands through the CLI's command tree in this process (each its own AppContext,
    engine and transactions, as a separate run would have); `runs` records every one: its exit
    code, stderr and any exception."""
    import typer.main
    from click.testing import CliRunner

    from insurtrack.cli.app import app

    command = typer.main.get_command(app)
    runner = CliRunner()
    runs: list[dict] = []

    def run(desk: str, *args: str) -> dict:
        started = time.perf_counter()
        result = runner.invoke(command, list(args), env={"INSURTRACK_USER": people[desk]})
        exc = result.exception
        if isinstance(exc, SystemExit):
            exc = None
        runs.append({
            "args": list(args), "user": people[desk], "exit": result.exit_code,
            "stderr": result.stderr, "ms": round((time.perf_counter() - started) * 1000),
            "exception": "".join(traceback.format_exception(*result.exc_info)) if exc else None,
        })
        if result.exit_code != 0:
            raise RuntimeError(f"stopped: {' '.join(args)} exited {result.exit_code}")
        return json.loads(result.stdout) if "--format" in args else {}

    return run, runs


def _ready_set_go() -> None:
    """Load what a command imports on first use (the CLI loads the ORM lazily), so that the race
    is between writers, not between imports; say "ready"; wait for "go" on stdin."""
    import importlib

    for name in ("domain.models", "services.customers", "services.applications",
                 "services.underwriting", "services.policies", "services.revisits",
                 "services.claims", "services.due", "sla.engine"):
        importlib.import_module(f"insurtrack.{name}")
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"


def _worker(index: int) -> None:
    """One member of staff's process (`python -m tests.test_concurrency INDEX`): when told to go,
    take STORIES customers through the CLI, then print one JSON line: the commands run and the
    codes made."""
    people = _people(index)
    run, runs = _cli(people)
    made: dict[str, list[str]] = {k: [] for k in ("customer", "application", "policy", "revisit",
                                                  "claim")}
    _ready_set_go()
    try:
        for k in range(STORIES):
            c = run("sales", "customer", "add", f"Worker {index} customer {k}",
                    "--phone", f"139{index:02d}{k:06d}", "--born", "1985-06-15",
                    "--region", "Shanghai", "--format", "json")["code"]
            made["customer"].append(c)
            run("sales", "customer", "needs", c, "--needs", "protect the family income",
                "--recommend", "term-life 500k, accident 100k")
            a = run("sales", "apply", "new", c, "--line", "term-life:500000:1200",
                    "--line", "accident:100000:300", "--frequency", "quarterly", "--term", "1y",
                    "--promised", "today", "--format", "json")["code"]
            made["application"].append(a)
            run("sales", "apply", "deliver", a)
            run("sales", "apply", "receive", a, "signed application form", "proof of identity",
                "bank account authorisation")
            run("sales", "apply", "review", a, "--complete")
            run("sales", "apply", "submit", a)
            run("underwriting", "underwrite", "accept", a, "--loading", "10")
            p = run("underwriting", "policy", "issue", a, "--format", "json")["code"]
            made["policy"].append(p)
            run("service", "policy", "pay", p, "--amount", "412.50", "--method", "bank_transfer")
            r = run("service", "revisit", "log", c, "--kind", "first_contact", "--policy", p,
                    "--channel", "phone", "--satisfaction", "5", "--format", "json")["code"]
            made["revisit"].append(r)
            cl = run("claims", "claim", "report", p, "--incident-at", "2026-03-02 08:30",
                     "--place", "Century Avenue metro", "--circumstances", "fell on the stairs",
                     "--amount", "8000", "--product", "accident", "--format", "json")["code"]
            made["claim"].append(cl)
            run("claims", "claim", "contact", cl)
            run("claims", "due", "--mine", "--format", "json")  # a reader among the writers
    except RuntimeError:
        pass  # reported through `runs`
    print(json.dumps({"worker": index, "people": people, "runs": runs, "made": made}), flush=True)


def _once(args: list[str]) -> None:
    """`python -m tests.test_concurrency once ARGS…`: when told to go, run one command as boss;
    print its record as one JSON line."""
    run, runs = _cli({"boss": "boss"})
    _ready_set_go()
    try:
        run("boss", *args)
    except RuntimeError:
        pass
    print(json.dumps(runs[0]), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "once":
        _once(sys.argv[2:])
    else:
        _worker(int(sys.argv[1]))
    sys.exit(0)


# ---------------------------------------------------------------------------- the test's helpers

import sqlalchemy as sa  # noqa: E402 - the worker above must not pay for the test's imports
from sqlalchemy import func, select  # noqa: E402

from insurtrack.domain import models as m  # noqa: E402
from tests.conftest import PG_URL  # noqa: E402
from tests.sla.servers import http_receiver  # noqa: E402,F401 - a pytest fixture


def _route_departments(config_path: Path, receiver) -> None:
    """Each department's digest goes to the receiver, under /<department>."""
    text = config_path.read_text(encoding="utf-8")
    header = "\n[notify.departments]\n"
    assert text.count(header) == 1
    lines = "".join(f'{d} = ["{receiver.url("/" + d)}"]\n' for d in DEPARTMENTS)
    text = text.replace(header, header + lines, 1).replace("timeout_seconds = 15",
                                                           "timeout_seconds = 10", 1)
    config_path.write_text(text, encoding="utf-8")


def _env(db_url: str, config_path: Path, *, user: str, now: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSURTRACK_")}
    env.update(INSURTRACK_DB=db_url, INSURTRACK_CONFIG=str(config_path), INSURTRACK_USER=user,
               INSURTRACK_NOW=now, NO_COLOR="1",
               INSURTRACK_CACHE_DIR=os.environ.get("INSURTRACK_CACHE_DIR", ""))
    return env


def _insurtrack(env: dict[str, str], *args: str) -> dict:
    started = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "insurtrack", *args], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    return {"args": list(args), "exit": p.returncode, "stdout": p.stdout, "stderr": p.stderr,
            "start": started, "end": time.monotonic()}


def _spawn(each: list[list[str]], env: dict[str, str]) -> list[subprocess.Popen]:
    """Worker processes (`python -m tests.test_concurrency …`), each loaded and "ready"."""
    procs = [subprocess.Popen([sys.executable, "-m", "tests.test_concurrency", *args], env=env,
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args in each]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.communicate()[1]
    except BaseException:
        _kill(procs)
        raise
    return procs


def _go(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()


def _kill(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def _posted_items(posts) -> Counter:
    """(department, follow-up id, stage) of every item in every digest the receiver got."""
    out: Counter = Counter()
    for post in posts:
        stage = None
        for line in post.json["message"].splitlines():
            head = re.fullmatch(r"(LATE|AT RISK|DUE TODAY) \(\d+\)", line)
            if head:
                stage = {"LATE": "breach", "AT RISK": "warn", "DUE TODAY": "due"}[head.group(1)]
            item = re.match(r"  #(\d+) ", line)
            if item:
                out[(post.path.strip("/"), int(item.group(1)), stage)] += 1
    return out


def _codes(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:06d}" for i in range(1, n + 1)]


# ---------------------------------------------------------------------------------- the main test

def test_eight_staff_processes_and_cron_write_at_once_and_nothing_is_lost(
        db_url, config_file, staff, engine, http_receiver):
    _route_departments(config_file, http_receiver)
    cron_env = _env(db_url, config_file, user="boss", now=CRON_NOW)

    # Start the staff processes; each loads the CLI, then waits for the word.
    procs = _spawn([[str(i)] for i in range(WORKERS)],
                   _env(db_url, config_file, user="boss", now=NOW))
    try:
        writing = threading.Event()
        writing.set()
        cron: list[dict] = []

        def cron_loop():  # cron's runs, one after another, for as long as staff write
            while True:
                cron.append(_insurtrack(cron_env, "due", "--notify"))
                if not writing.is_set():
                    return
                time.sleep(2)  # cron would wait a minute; one run every few seconds will do

        def dry_run():
            cron.append(_insurtrack(cron_env, "due", "--notify", "--dry-run"))

        started = time.monotonic()
        _go(procs)
        cron_threads = [threading.Thread(target=f, daemon=True) for f in (cron_loop, dry_run)]
        for t in cron_threads:
            t.start()
        outputs = [p.communicate(timeout=120) for p in procs]
        writers_done = time.monotonic()
        writing.clear()
        for t in cron_threads:
            t.join(timeout=120)
    finally:
        _kill(procs)
    # The last word of cron at the same instant queues what is left, then there is nothing new.
    final = [_insurtrack(cron_env, "due", "--notify") for _ in range(2)]
    elapsed = time.monotonic() - started

    # -- every process and command succeeded, and told the user nothing alarming
    results = []
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, f"worker exited {p.returncode}: {err}"
        assert err.strip() == "", f"a worker's process wrote to stderr: {err}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    runs = [r for w in results for r in w["runs"]]
    for r in runs:
        assert r["exit"] == 0 and r["exception"] is None, \
            f"insurtrack {' '.join(r['args'])} (as {r['user']}) exited {r['exit']}: " \
            f"{r['stderr']}{r['exception'] or ''}"
        assert not TROUBLE.search(r["stderr"]), f"{' '.join(r['args'])}: {r['stderr']}"
    assert len(runs) == CUSTOMERS * 14
    assert not any(t.is_alive() for t in cron_threads)
    for r in cron + final:
        assert r["exit"] == 0, f"insurtrack {' '.join(r['args'])} exited {r['exit']}: {r['stderr']}"
        assert not TROUBLE.search(r["stderr"] + r["stdout"] * ("--dry-run" not in r["args"])), \
            r["stderr"]
        if "--dry-run" not in r["args"]:
            assert all(NOTIFY_LINE.fullmatch(x) for x in r["stderr"].splitlines()), r["stderr"]
    overlapping = [r for r in cron if r["start"] < writers_done and "--dry-run" not in r["args"]]
    assert overlapping, "cron must have run while staff were writing"
    assert final[1]["stderr"].strip() == "queued 0, sent 0 digest(s)", final[1]["stderr"]

    # -- exact counts
    with engine.connect() as conn:
        def count(model, *where):
            return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

        n = CUSTOMERS
        assert count(m.Customer) == n
        assert count(m.Application) == count(m.Application, m.Application.status == "issued") == n
        assert count(m.Policy) == count(m.Policy, m.Policy.status == "in_force") == n
        assert count(m.Payment) == n
        assert count(m.Revisit) == count(m.Revisit, m.Revisit.kind == "first_contact") == n
        assert count(m.Claim) == count(m.Claim, m.Claim.status == "contacted") == n
        events = Counter(dict(conn.execute(
            select(m.Event.type, func.count()).group_by(m.Event.type)).all()))
        assert events == Counter({t: k * n for t, k in STORY_EVENTS.items()}) \
            + Counter({"staff.added": len(staff)})
        followups = Counter({(rule, status): k for rule, status, k in conn.execute(
            select(m.FollowUp.rule, m.FollowUp.status, func.count())
            .group_by(m.FollowUp.rule, m.FollowUp.status)).all()})
        assert followups == Counter({key: k * n for key, k in STORY_FOLLOWUPS.items()})

        # -- codes: unique and contiguous, as the tables and as the staff were told them
        for kind, model, prefix in [("customer", m.Customer, "C"), ("application", m.Application, "A"),
                                    ("policy", m.Policy, "P"), ("revisit", m.Revisit, "R"),
                                    ("claim", m.Claim, "CL")]:
            stored = sorted(conn.execute(select(model.code)).scalars())
            told = sorted(c for w in results for c in w["made"][kind])
            assert stored == told == _codes(prefix, n), kind
        assert dict(conn.execute(select(m.Sequence.name, m.Sequence.value)).all()) == {
            k: n for k in ("customer", "application", "policy", "revisit", "claim")}

        # -- every record has its event, by the person who made it, about its customer
        actor = dict(conn.execute(select(m.Staff.id, m.Staff.code)).all())
        customer_of = dict(conn.execute(select(m.Customer.code, m.Customer.id)).all())
        by_subject: dict[str, list[tuple[str, str, int]]] = {}
        for t, subject, actor_id, customer_id in conn.execute(
                select(m.Event.type, m.Event.subject, m.Event.actor_id, m.Event.customer_id)):
            by_subject.setdefault(subject, []).append((t, actor[actor_id], customer_id))
        for w in results:
            people = w["people"]
            for k in range(STORIES):
                c, a, p, r, cl = (w["made"][kind][k] for kind in
                                  ("customer", "application", "policy", "revisit", "claim"))
                cid = customer_of[c]
                expect = {
                    c: [("customer.added", people["sales"]), ("customer.needs", people["sales"])],
                    a: [("application.created", people["sales"]),
                        ("application.plan_delivered", people["sales"]),
                        ("application.document_received", people["sales"]),
                        ("application.reviewed", people["sales"]),
                        ("application.submitted", people["sales"]),
                        ("application.accepted", people["underwriting"]),
                        ("application.issued", people["underwriting"])],
                    p: [("policy.issued", people["underwriting"]),
                        ("premium.paid", people["service"]), ("policy.in_force", people["service"])],
                    r: [("revisit.first_contact", people["service"])],
                    cl: [("claim.reported", people["claims"]), ("claim.contacted", people["claims"])],
                }
                for subject, wanted in expect.items():
                    got = by_subject.get(subject, [])
                    assert sorted((t, who) for t, who, _ in got) == sorted(wanted), subject
                    assert {cust for _, _, cust in got} == {cid}, subject

        # -- every in-force policy has its follow-ups (and its customer the quarterly revisit)
        open_by_subject: dict[str, set[str]] = {}
        for rule, subject, status in conn.execute(
                select(m.FollowUp.rule, m.FollowUp.subject, m.FollowUp.status)):
            open_by_subject.setdefault(subject, set()).add(f"{rule}:{status}")
        for code, cust in conn.execute(select(m.Policy.code, m.Customer.code)
                                       .join(m.Customer, m.Customer.id == m.Policy.customer_id)):
            assert {"premium-reminder:open", "premium-overdue:open", "renewal-reminder:open",
                    "first-contact:done"} <= open_by_subject[code], code
            assert "quarterly-revisit:open" in open_by_subject[cust], cust

        # -- notifications: each queued once, delivered at most once; nothing left behind
        outbox = [dict(r) for r in conn.execute(select(*m.Outbox.__table__.c)).mappings()]
        late_reminders = set(conn.execute(select(m.FollowUp.id).where(
            m.FollowUp.rule == "premium-reminder")).scalars())
    keys = Counter((o["followup_id"], o["stage"], o["recipient"], o["channel"]) for o in outbox)
    assert outbox and max(keys.values()) == 1
    assert all(o["sent_at"] is not None for o in outbox)
    delivered = {(o["recipient"].removeprefix("dept:"), o["followup_id"], o["stage"])
                 for o in outbox if o["last_error"] is None}
    skipped = [o for o in outbox if o["last_error"] is not None]
    assert all(o["last_error"] == "not sent: closed before delivery" and o["attempts"] == 0
               for o in skipped)
    assert all(o["attempts"] == 1 for o in outbox if o["last_error"] is None)
    posted = _posted_items(http_receiver.wait_for(1))
    assert max(posted.values()) == 1, [k for k, v in posted.items() if v > 1]
    assert set(posted) == delivered
    assert {("service", fu, "breach") for fu in late_reminders} <= delivered
    assert len(late_reminders) == n

    print(f"\n{WORKERS} writers x {STORIES} stories ({len(runs)} commands), "
          f"{len(cron)} cron runs alongside ({len(overlapping)} while writing): "
          f"writing {writers_done - started:.1f}s, all {elapsed:.1f}s; slowest command "
          f"{max(r['ms'] for r in runs)} ms; {len(outbox)} notifications "
          f"({len(skipped)} skipped as closed), {len(http_receiver.posts)} digests posted "
          f"[{'PostgreSQL' if PG_URL else 'SQLite'}]")


# -------------------------------------------------------------- everyone's first run after an upgrade

def test_first_commands_of_staff_after_an_upgrade_all_go_through(db_url, config_file, staff,
                                                                 engine):
    """A new version is installed whose schema is one revision on: every member of staff's first
    command finds the store behind and upgrades it — here four at the same moment. One upgrades;
    the others wait for it, find the schema current and go on: every command succeeds."""
    from alembic import command

    from insurtrack import db

    command.downgrade(db.alembic_config(engine), "-1")
    assert db.current_revision(engine) != db.SCHEMA_HEAD
    procs = _spawn([["once", "staff", "list", "--format", "json"]] * 4,
                   _env(db_url, config_file, user="boss", now=NOW))
    try:
        _go(procs)
        outputs = [p.communicate(timeout=60) for p in procs]
    finally:
        _kill(procs)
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0 and err == "", err
        run = json.loads(out.strip().splitlines()[-1])
        assert (run["exit"], run["stderr"], run["exception"]) == (0, "", None), run
    assert db.current_revision(engine) == db.SCHEMA_HEAD


# ------------------------------------------------------------- what makes it hold: SQLite's lock

sqlite_only = pytest.mark.skipif(bool(PG_URL), reason="SQLite's write lock")


def _hold_write_lock(db_url: str):
    """Another writer: a connection holding SQLite's write lock (BEGIN IMMEDIATE)."""
    import sqlite3

    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


@sqlite_only
def test_a_writer_waits_for_the_lock_up_front_then_writes(cli):
    """A step taken while someone else writes waits for them (up to database.busy_timeout_ms),
    then is recorded: no "database is locked" for a lock held a moment."""
    other = _hold_write_lock(cli.db_url)
    release = threading.Timer(1.0, other.commit)
    release.start()
    started = time.monotonic()
    try:
        result = cli.ok("customer", "add", "Li Na", "--phone", "13800000001", as_="sally")
    finally:
        release.join()
        other.close()
    assert time.monotonic() - started >= 0.9
    assert "Customer C-000001" in result.stdout and result.stderr == ""


@sqlite_only
def test_a_writer_kept_out_past_the_busy_timeout_gets_a_clear_error_exit_7(cli):
    """Locked out for longer than database.busy_timeout_ms: exit 7, a one-line message naming
    the setting, no traceback, nothing written — after waiting that long, not at once."""
    path = Path(cli.config_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "busy_timeout_ms = 10000", "busy_timeout_ms = 400"), encoding="utf-8")
    other = _hold_write_lock(cli.db_url)
    started = time.monotonic()
    try:
        result = cli.fails(7, "customer", "add", "Li Na", as_="sally",
                           expect="database is locked: other writers kept it busy for longer "
                                  "than database.busy_timeout_ms")
    finally:
        other.rollback()
        other.close()
    assert 0.4 <= time.monotonic() - started < 5
    assert result.stderr.count("\n") == 1
    cli.ok("customer", "add", "Li Na", as_="sally")  # free again: it goes through


# ------------------------------------------------- what makes it hold: PostgreSQL's aborted work

class _Aborted(Exception):
    """What psycopg raises when PostgreSQL aborts a transaction to break a deadlock."""

    sqlstate = "40P01"

    def __str__(self) -> str:
        return "deadlock detected"


def _abort_first(monkeypatch, times: int) -> list[str]:
    """customers.add does its work (draws C-00000n, writes the row and its event), then, the
    first `times` calls, the database aborts the transaction as a deadlock."""
    from insurtrack.services import customers

    real, calls = customers.add, []

    def add(w, **kw):
        c = real(w, **kw)
        w.session.flush()
        calls.append(c.code)
        if len(calls) <= times:
            raise sa.exc.OperationalError("INSERT INTO customer …", {}, _Aborted())
        return c

    monkeypatch.setattr(customers, "add", add)
    return calls


def test_a_transaction_aborted_as_a_deadlock_is_run_again_from_the_start(cli, monkeypatch):
    """The aborted attempt left nothing behind (its code is drawn again: no gap); the user sees
    the customer added, and no error."""
    calls = _abort_first(monkeypatch, times=2)

    result = cli.ok("customer", "add", "Li Na", "--phone", "13800000001", as_="sally")

    assert calls == ["C-000001"] * 3
    assert "Customer C-000001" in result.stdout and result.stderr == ""
    with cli.engine.connect() as conn:
        assert conn.execute(select(m.Customer.code)).scalars().all() == ["C-000001"]
        assert conn.execute(select(func.count()).select_from(m.Event)
                            .where(m.Event.type == "customer.added")).scalar_one() == 1


def test_a_transaction_aborted_every_time_gives_up_after_five_tries(cli, monkeypatch):
    from insurtrack.cli.app import ATTEMPTS

    calls = _abort_first(monkeypatch, times=99)

    cli.fails(7, "customer", "add", "Li Na", as_="sally",
              expect=f"database error: deadlock (tried {ATTEMPTS} times): deadlock detected")

    assert len(calls) == ATTEMPTS == 5


def test_a_command_that_already_committed_is_not_run_again(cli, monkeypatch):
    """`due` first recomputes follow-ups under changed rules (committed), then reads the board:
    a failure there is reported, not retried — a second run could repeat what was done."""
    from insurtrack.services import due
    from insurtrack.sla import board as reads

    synced, boards = [], []
    monkeypatch.setattr(reads, "stale_rules", lambda session, book: ["a changed rule"])
    monkeypatch.setattr(due, "sync_rules", lambda w: synced.append(1) or 0)

    def board(r, **kw):
        boards.append(1)
        raise sa.exc.OperationalError("SELECT …", {}, _Aborted())

    monkeypatch.setattr(reads, "board", board)
    result = cli("due")
    assert result.exit_code == 7 and "deadlock (tried 1 time)" in result.stderr
    assert (synced, boards) == ([1], [1])


@pytest.mark.skipif(not PG_URL, reason="a real PostgreSQL deadlock")
def test_a_real_postgresql_deadlock_is_retried_in_a_real_process(db_url, config_file, staff,
                                                                 engine):
    """`customer add` holds the customer counter and then waits (in a trigger) for a lock this
    test holds; the test then wants the counter: a deadlock. The command's side checks for one
    first (deadlock_timeout 2 s against the test's 60 s), so PostgreSQL aborts the command's
    transaction — which is how the test's UPDATE gets through at all. The command runs again and
    adds the customer; the user sees no error."""
    trigger = """
        CREATE FUNCTION it_wait_for_the_test() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$;
        CREATE TRIGGER it_wait_for_the_test BEFORE INSERT ON customer
            FOR EACH ROW EXECUTE FUNCTION it_wait_for_the_test();
    """
    with engine.begin() as conn:
        conn.exec_driver_sql(trigger)
        conn.execute(sa.insert(m.Sequence).values(name="customer", value=0))  # a row to lock
    test = engine.connect()
    try:
        test.exec_driver_sql("SET deadlock_timeout = '60s'")
        test.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")  # in the test's transaction
        env = {**_env(db_url, config_file, user="sally", now=NOW),
               "PGOPTIONS": "-c deadlock_timeout=2s"}
        proc = subprocess.Popen([sys.executable, "-m", "insurtrack", "customer", "add", "Li Na",
                                 "--format", "json"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        with engine.connect() as probe:  # wait until the command waits for the test's lock
            while not probe.exec_driver_sql(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    ).scalar():
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.05)
        # The test now waits for the counter the command holds: a cycle, broken on the
        # command's side (else this raises here).
        test.execute(sa.update(m.Sequence).where(m.Sequence.name == "customer")
                     .values(value=m.Sequence.value))
        test.rollback()  # releases the advisory lock: the second attempt goes through
        out, err = proc.communicate(timeout=60)
    finally:
        test.close()
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS it_wait_for_the_test ON customer; "
                                 "DROP FUNCTION IF EXISTS it_wait_for_the_test()")
    assert proc.returncode == 0 and err == "", err
    assert json.loads(out)["code"] == "C-000001"
    with engine.connect() as conn:
        assert conn.execute(select(m.Customer.code)).scalars().all() == ["C-000001"]
