"""Crashes during `insurtrack due --notify` (issue 6, item 6) — domain principle "nothing is
lost": a notification is neither dropped nor sent twice, and a crash at any point leaves the
store consistent.

Real cron runs (`python -m insurtrack due --notify` subprocesses) deliver to a real SMTP server
(aiosmtpd) and a real HTTP receiver (json:// webhooks), tests/sla/servers.py: five departments
with a mailbox and a webhook each, twenty staff members with a mailbox or a webhook of their
own. Before each run a new batch of late items is added (owner items go to the owner and the
department, queue items to the department), so every run has a few dozen digests to deliver.
Each run is killed with SIGKILL after a random delay (a seeded RNG), spread uniformly over the
time one uninterrupted run took — in its start-up, its evaluation, its claim, between
deliveries, and in the window between a channel having a digest (its answer on the way back) and
the commit that marks it sent. Each next run comes two minutes later on the pinned clock, past `notify.lease_minutes` (1),
so it takes over what the killed run had leased. After the last kill, one run completes and
another finds nothing left to do.

What is checked: after every kill the store's integrity (SQLite: integrity_check and
foreign_key_check; PostgreSQL: the killed run's session has ended); at the end, that every
(follow-up, stage, recipient, channel) message arrived and none twice — where "twice" allows
exactly one thing, and the test insists on it: a digest repeated after a crash in the window
above is the *same* digest (the same X-Insurtrack-Digest identity, title and body), which a
receiver drops (README, "Notifications from cron"). Every outbox row ends sent.

50 kills on SQLite; 20 on PostgreSQL (each run costs more there; every phase is still hit).
Outcomes depend on the machine's speed; the test asserts no timing.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from insurtrack import config, db
from insurtrack.clock import FixedClock
from insurtrack.domain import models as m
from insurtrack.domain.states import Department
from insurtrack.services import due as due_svc
from insurtrack.services import staff as staff_svc
from insurtrack.services.base import Work
from insurtrack.sla.notify import DIGEST_HEADER
from tests.conftest import PG_URL, STAFF, WORKER, local
from tests.sla.servers import http_receiver, smtp_server  # noqa: F401 - pytest fixtures
from tests.sla.test_notify import email_template, routes

REPO = Path(__file__).resolve().parents[2]
SEED = 61126
KILLS = 20 if PG_URL else 50
BATCH = 16           # late items added before each run
STEP = timedelta(minutes=2)  # between runs: past the 1-minute lease of a killed run
DEPTS = ("sales", "service", "underwriting", "claims", "manager")
EXTRA = {f"x{k:02d}": DEPTS[k % 5] for k in range(12)}  # more staff, more digests per run
WEBHOOK_STAFF = ("sam", "carl", "uma", "x00", "x03", "x06", "x09")  # the rest get mail
ITEM = re.compile(r"^  #(\d+) ", re.M)
APP = f"insurtrack-crash-test{WORKER}"  # PGAPPNAME of the runs: their sessions are found by it


# -- what must arrive, and what did ---------------------------------------------------------------

Endpoint = tuple[str, str]  # ("mail", address) or ("json", path)


def endpoints(recipient: str) -> list[Endpoint]:
    kind, _, name = recipient.partition(":")
    if kind == "dept":
        return [("mail", f"{name}@example.com"), ("json", f"/dept/{name}")]
    return [("json", f"/staff/{name}")] if name in WEBHOOK_STAFF else [("mail", f"{name}@example.com")]


@dataclass(frozen=True)
class Received:
    endpoint: Endpoint
    key: str      # the X-Insurtrack-Digest identity
    title: str
    body: str


def check_delivery(expected: set[tuple[Endpoint, int]], received: list[Received]) -> int:
    """Every expected (endpoint, follow-up) message in exactly one digest, and nothing else; a
    digest received more than once must be the same digest each time (same identity, title and
    body: a receiver drops the repeat). Returns the number of such repeats."""
    first: dict[tuple[Endpoint, str], Received] = {}
    repeats = 0
    for r in received:
        assert r.key.startswith("dg-"), f"a digest without its identity: {r}"
        seen = first.get((r.endpoint, r.key))
        if seen is None:
            first[(r.endpoint, r.key)] = r
            continue
        assert (seen.title, seen.body) == (r.title, r.body), (
            f"two different digests with one identity at {r.endpoint}:\n{seen}\n{r}")
        repeats += 1
    got = Counter((ep, int(fu)) for (ep, _), r in first.items() for fu in ITEM.findall(r.body))
    lost = sorted(expected - set(got))
    extra = sorted(set(got) - expected)
    twice = sorted(k for k, n in got.items() if n > 1)
    assert not lost, f"{len(lost)} message(s) lost, e.g. {lost[:5]}"
    assert not extra, f"{len(extra)} message(s) nobody should have got, e.g. {extra[:5]}"
    assert not twice, f"{len(twice)} message(s) sent twice in different digests, e.g. {twice[:5]}"
    return repeats


def received(smtp, http) -> list[Received]:
    out = []
    for mail in smtp.messages if smtp else []:
        [to] = mail.rcpt_tos
        out.append(Received(("mail", to), mail.headers.get(DIGEST_HEADER, ""), mail.subject,
                            mail.body.strip()))
    for post in http.posts:
        headers = {k.lower(): v for k, v in post.headers.items()}
        if len(post.body) != int(headers.get("content-length", -1)) or post.json is None:
            continue  # the sender died mid-request: not delivered (no receiver accepts it)
        assert headers.get("idempotency-key") == headers.get(DIGEST_HEADER.lower())
        out.append(Received(("json", post.path), headers.get(DIGEST_HEADER.lower(), ""),
                            post.json["title"], post.json["message"].strip()))
    return out


# -- the book -------------------------------------------------------------------------------------

def add_staff(engine, clock, settings) -> None:
    with db.write(engine) as s:
        boss = s.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=s, actor=boss, clock=clock, settings=settings)
        for login, dept in EXTRA.items():
            staff_svc.add(w, code=login, name=login.upper(), department=Department(dept),
                          email=f"{login}@example.com")


def add_batch(engine, settings, at, batch: int) -> dict[int, list[str]]:
    """BATCH items made half an hour before `at`, due ten minutes before it (late at `at` and at
    every later run): follow-up id -> its recipients."""
    people = sorted({**STAFF, **EXTRA})
    made = {}
    clock = FixedClock(at - timedelta(minutes=30))
    with db.write(engine) as s:
        boss = s.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=s, actor=boss, clock=clock, settings=settings)
        for k in range(BATCH):
            due = at - timedelta(minutes=10)
            if k % 3 == 0:
                dept = DEPTS[(batch + k) % 5]
                f = due_svc.add(w, title=f"Batch {batch} item {k}", due=due,
                                department=Department(dept))
                made[f.id] = [f"dept:{dept}"]
            else:
                who = people[(batch * 7 + k) % len(people)]
                f = due_svc.add(w, title=f"Batch {batch} item {k}", due=due, assignee=who)
                made[f.id] = [f"staff:{who}", f"dept:{f.department}"]
    return made


def settle(url: str) -> None:
    """After a kill: SQLite — the file is sound; PostgreSQL — the killed run's server sessions
    (application_name APP) have ended (a COMMIT it had sent is done or undone) before anything
    is read."""
    if not url.startswith("postgresql"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return
    engine = db.make_engine(url)
    try:
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            while conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"
                    " AND datname = current_database()"), {"app": APP}).scalar_one():
                conn.rollback()
                assert time.monotonic() < deadline, "the killed run's session did not end"
                time.sleep(0.02)
    finally:
        engine.dispose()


class BusyWriter:
    """Another writer at work (staff at their desks): holds the store's write lock for 100 ms,
    lets go for 50 ms, again and again. A run then often waits for the lock to mark a delivered
    digest sent — the window a crash can hit is as wide as it is on a busy day."""

    def __init__(self, url: str):
        self.url, self.stop, self.thread = url, threading.Event(), None

    def _hold(self) -> None:
        if self.url.startswith("postgresql"):
            engine = db.make_engine(self.url)
            try:
                with engine.connect() as conn:
                    while not self.stop.is_set():
                        conn.execute(text("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE"))
                        time.sleep(0.1)
                        conn.commit()
                        time.sleep(0.05)
            finally:
                engine.dispose()
            return
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None,
                               timeout=30)
        try:
            while not self.stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                time.sleep(0.1)
                conn.execute("COMMIT")
                time.sleep(0.05)
        finally:
            conn.close()

    def __enter__(self) -> BusyWriter:
        self.thread = threading.Thread(target=self._hold, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


# -- the test -------------------------------------------------------------------------------------

def test_kill_notify_at_random_points_nothing_lost_nothing_twice(cli, smtp_server,
                                                                 http_receiver):
    """Nothing is lost, nothing is sent twice (a repeat after a crash between delivery and its
    commit is the same digest, which receivers drop): SIGKILL at random points of 50 cron runs
    (see the module docstring)."""
    departments = {d: [smtp_server.url(to=f"{d}@example.com"), http_receiver.url(f"/dept/{d}")]
                   for d in DEPTS}
    staff = {login: [http_receiver.url(f"/staff/{login}")] for login in WEBHOOK_STAFF}
    routes(cli, departments=departments, staff=staff,
           staff_email_url=email_template(smtp_server), lease_minutes=1)
    settings = config.load(cli.config_path, {})
    add_staff(cli.engine, cli.clock, settings)
    env = {**os.environ, "INSURTRACK_DB": cli.db_url, "INSURTRACK_CONFIG": cli.config_path,
           "INSURTRACK_USER": "boss", "NO_COLOR": "1", "PGAPPNAME": APP}
    rng = random.Random(SEED)
    expected: set[tuple[Endpoint, int]] = set()

    def run(at):
        return subprocess.Popen(
            [sys.executable, "-m", "insurtrack", "due", "--notify"],
            env={**env, "INSURTRACK_NOW": at.isoformat()}, cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def batch(at, n):
        for fu, whom in add_batch(cli.engine, settings, at, n).items():
            expected.update((ep, fu) for who in whom for ep in endpoints(who))

    at = local(2026, 3, 2, 9, 0)
    batch(at, 0)
    with BusyWriter(cli.db_url):
        started = time.perf_counter()
        out, err = run(at).communicate(timeout=120)
        took = time.perf_counter() - started
    assert "sent" in err and "Traceback" not in err, err

    for n in range(1, KILLS + 1):
        at += STEP
        batch(at, n)
        with BusyWriter(cli.db_url):
            proc = run(at)
            time.sleep(rng.uniform(0, took))
            proc.kill()  # SIGKILL: no handler, no rollback, no atexit
            proc.communicate(timeout=60)
        settle(cli.db_url)

    at += STEP
    done = run(at)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0 and "Traceback" not in err, err
    again = run(at + STEP)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "queued 0, sent 0 digest(s)" in err, err
    settle(cli.db_url)

    with cli.engine.connect() as conn:
        rows = conn.execute(select(m.Outbox.sent_at, m.Outbox.last_error)).all()
    assert rows and all(sent is not None and error is None for sent, error in rows)
    time.sleep(0.2)  # the servers record in their own threads
    repeats = check_delivery(expected, received(smtp_server, http_receiver))
    print(f"\n{KILLS} kills ({'PostgreSQL' if PG_URL else 'SQLite'}), {len(expected)} messages "
          f"in {len(rows)} outbox rows; {repeats} digest(s) repeated after a crash between the "
          "receiver having it and the run recording it, each the same digest")


# -- the check can fail ---------------------------------------------------------------------------

def _two_digests() -> tuple[set, list[Received]]:
    a, b = ("mail", "claims@example.com"), ("json", "/dept/claims")
    expected = {(a, 1), (a, 2), (b, 1), (b, 2)}
    body = "LATE (2)\n  #1 Send the file\n  #2 Call back\n\nSee `insurtrack due`."
    return expected, [Received(a, "dg-1", "insurtrack: 2 late — claims", body),
                      Received(b, "dg-2", "insurtrack: 2 late — claims", body)]


def test_the_delivery_check_finds_a_lost_message():
    expected, got = _two_digests()
    assert check_delivery(expected, got) == 0
    lost = [got[0], Received(got[1].endpoint, "dg-2", got[1].title,
                             got[1].body.replace("  #2 Call back\n", ""))]
    with pytest.raises(AssertionError, match=r"1 message\(s\) lost, e.g. \[\(\('json', "
                                             r"'/dept/claims'\), 2\)\]"):
        check_delivery(expected, lost)
    with pytest.raises(AssertionError, match="lost"):
        check_delivery(expected, got[:1])


def test_the_delivery_check_finds_a_message_sent_twice():
    """A repeat is only harmless as the same digest: the same items under another identity,
    or another text under the same identity, or no identity at all, fail."""
    expected, got = _two_digests()
    assert check_delivery(expected, got + [got[0]]) == 1
    other = Received(got[0].endpoint, "dg-3", got[0].title, got[0].body)
    with pytest.raises(AssertionError, match="sent twice in different digests"):
        check_delivery(expected, got + [other])
    changed = Received(got[0].endpoint, "dg-1", got[0].title, got[0].body + "\n")
    with pytest.raises(AssertionError, match="two different digests with one identity"):
        check_delivery(expected, got + [changed])
    with pytest.raises(AssertionError, match="without its identity"):
        check_delivery(expected, [Received(g.endpoint, "", g.title, g.body) for g in got])


class Crash(BaseException):
    """The process dies: nothing after it runs (not an Exception: nothing catches it)."""


def test_a_crash_between_delivery_and_its_commit_resends_the_same_digest(cli, work,
                                                                         http_receiver,
                                                                         monkeypatch):
    """The window, hit on purpose: the webhook accepts the claims digest and the run dies before
    marking it sent. After the lease, the next run sends that digest again whole, with the same
    identity, title and body, and the item queued meanwhile in a digest of its own — never
    merged into the repeat, which a receiver could then not drop."""
    from insurtrack.sla import notify, send

    routes(cli, departments={"claims": [http_receiver.url("/dept/claims")]}, lease_minutes=1)
    settings = config.load(cli.config_path, {})
    with work("boss") as w:
        first = [due_svc.add(w, title=f"Task {k}", due=local(2026, 3, 2, 17, 0),
                             department=Department.CLAIMS).id for k in range(2)]
        boss = w.actor
    delivered = send.send

    def deliver_then_die(*args, **kw):
        assert delivered(*args, **kw) is None
        raise Crash

    monkeypatch.setattr(send, "send", deliver_then_die)
    with pytest.raises(Crash):
        notify.run(cli.engine, settings, cli.clock, boss)
    monkeypatch.setattr(send, "send", delivered)
    [post] = http_receiver.wait_for(1)
    key = post.headers[DIGEST_HEADER]
    rows = {r.id: r for r in notify_rows(cli.engine)}
    assert all(r.sent_at is None and r.claimed_by.startswith(key + ".") for r in rows.values())

    cli.clock.advance(seconds=30)  # still leased: the dead run's digest waits
    assert notify.run(cli.engine, settings, cli.clock, boss).sent == []
    cli.clock.advance(minutes=1)
    with work("boss") as w:
        later = due_svc.add(w, title="Task 2", due=local(2026, 3, 2, 17, 0),
                            department=Department.CLAIMS).id
    report = notify.run(cli.engine, settings, cli.clock, boss)

    [resent] = [d for d in report.sent if d.key == key]
    [fresh] = [d for d in report.sent if d.key != key]
    assert sorted(resent.ids) == sorted(rows) and len(fresh.ids) == 1
    posts = http_receiver.wait_for(3)
    [again] = [p for p in posts[1:] if p.headers[DIGEST_HEADER] == key]
    [new] = [p for p in posts[1:] if p.headers[DIGEST_HEADER] == fresh.key]
    assert again.json == post.json
    assert f"#{later} " in new.json["message"] and f"#{first[0]} " not in new.json["message"]
    endpoint = ("json", "/dept/claims")
    assert check_delivery({(endpoint, fu) for fu in [*first, later]},
                          received(None, http_receiver)) == 1
    assert all(r.sent_at is not None for r in notify_rows(cli.engine))


def notify_rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(m.Outbox)).all())
