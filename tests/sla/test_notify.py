"""`insurtrack due --notify` against real channels: an SMTP server (aiosmtpd) and an HTTP
receiver (json:// webhooks), routed through the config file's [notify] tables.

What an office relies on: one digest per recipient and channel per run; each stage (due today,
at risk, late) of a follow-up delivered exactly once, whatever the number of runs, overlapping
runs or failed channels in between; late owner items (T9 claim handler) also reach the
department; secrets never leave the config file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from insurtrack import config, db
from insurtrack.clock import FixedClock
from insurtrack.domain import models as m
from insurtrack.domain.states import Department
from insurtrack.services import due as svc
from insurtrack.services.base import Work
from insurtrack.sla import notify
from tests import factories
from tests.conftest import SHANGHAI, local, snapshot
from tests.sla.servers import http_receiver, smtp_server  # noqa: F401 - pytest fixtures

SECRET = "s3cretPw"
TZ = "Asia/Shanghai"
FOOTER = "See `insurtrack due` for details and `insurtrack due explain ID` for a clock."
REPORT = ["--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
          "--circumstances", "fell on the stairs", "--amount", "12000"]
REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------------ helpers

def routes(cli, *, departments: dict | None = None, staff: dict | None = None,
           staff_email_url: str | None = None, lease_minutes: int | None = None) -> None:
    """Write notification routes into the CLI's config file (the rendered example, whose
    [notify.departments] and [notify.staff] tables are empty)."""
    path = Path(cli.config_path)
    text = path.read_text(encoding="utf-8")

    def fill(header: str, table: dict | None) -> None:
        nonlocal text
        if not table:
            return
        assert text.count(f"\n{header}\n") == 1, header
        lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
        text = text.replace(f"\n{header}\n", f"\n{header}\n{lines}", 1)

    def setting(key: str, value) -> None:
        nonlocal text
        line = next(x for x in text.splitlines() if x.startswith(f"{key} = "))
        text = text.replace(line, f"{key} = {json.dumps(value)}", 1)

    fill("[notify.departments]", departments)
    fill("[notify.staff]", staff)
    if staff_email_url is not None:
        setting("staff_email_url", staff_email_url)
    if lease_minutes is not None:
        setting("lease_minutes", lease_minutes)
    setting("timeout_seconds", 5)
    path.write_text(text, encoding="utf-8")
    cli.ok("config", "check")


def email_template(smtp) -> str:
    """notify.staff_email_url pointing at the test SMTP server."""
    return (f"mailto://{smtp.host}:{smtp.port}?smtp={smtp.host}&mode=insecure"
            "&from=insurtrack@example.com&to={email}")


def secret_json_url(http, path: str) -> str:
    """A webhook whose URL carries a password (sent as HTTP basic auth)."""
    return f"json://bot:{SECRET}@{http.host}:{http.port}/{path}"


def set_clock(cli, *args: int) -> None:
    cli.clock.instant = local(*args).astimezone(timezone.utc)


def outbox(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(*m.Outbox.__table__.c).order_by(m.Outbox.id)).mappings()]


def keys(engine) -> set[tuple]:
    return {(r["followup_id"], r["stage"], r["recipient"]) for r in outbox(engine)}


def notify_ok(cli, **kw):
    """A --notify run that must succeed; returns the CLI result."""
    return cli.ok("due", "--notify", **kw)


def nothing_new(cli, smtp=None, http=None) -> None:
    """Another run now queues and sends nothing."""
    mails = len(smtp.messages) if smtp else 0
    posts = len(http.posts) if http else 0
    out = notify_ok(cli)
    assert "queued 0, sent 0 digest(s)" in out.stderr, out.stderr
    if smtp:
        assert len(smtp.messages) == mails
    if http:
        assert len(http.posts) == posts


def exactly(server, count: int) -> list:
    """Wait until `count` messages arrived, then insist there are no more."""
    got = server.wait_for(count)
    assert len(got) == count, got
    return got


def digest(*sections: tuple[str, list[str]]) -> str:
    lines = []
    for head, items in sections:
        lines += [f"{head} ({len(items)})", *(f"  {i}" for i in items), ""]
    return "\n".join(lines + [FOOTER])


def manual(cli, title: str, by: str, *extra: str) -> int:
    """`due add`: a manual follow-up; returns its number."""
    return cli.json("due", "add", title, "--by", by, *extra)["id"]


@pytest.fixture
def pol(work):
    """P-000001 of C-000001 (owner sally), in force: claims can be reported on it."""
    with work("sally") as w:
        return factories.policy(w, factories.customer(w)).code


# ------------------------------------------------------------------------------ one digest each

def test_one_digest_per_recipient_lists_every_item_T9(cli, pol, smtp_server, http_receiver):
    """Three claims items (T9 at risk — carl, the handler, has no channel so his department
    hears — and two manual ones due today) arrive as ONE mail to claims; sales and sam get
    their own digests; an item not yet due is in none."""
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")],
                             "sales": [http_receiver.url("/sales")]},
           staff={"sam": [smtp_server.url(to="sam@example.com")]})
    cli.ok("claim", "report", pol, *REPORT, "--at", "25m ago", as_="carl")  # 08:35
    audit = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    broker = manual(cli, "Call the broker back", "2026-03-02 17:00", "--dept", "claims")
    figures = manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")
    letter = manual(cli, "Post the welcome letter", "2026-03-02 15:00", "--to", "sam",
                    "--about", "C-000001")
    manual(cli, "Next week's audit", "2026-03-09 12:00", "--dept", "claims")

    out = notify_ok(cli)

    assert "queued 5, sent 3 digest(s)" in out.stderr
    mails = {mail.rcpt_tos: mail for mail in exactly(smtp_server, 2)}
    claims = mails[("claims@example.com",)]
    assert claims.subject == "insurtrack: 1 at risk, 2 due today — claims"
    assert claims.body.strip() == digest(
        ("AT RISK", [f"#1 T9 Call the claimant back (claim contact) — CL-000001 C-000001; "
                     f"due 2026-03-02 09:05 {TZ}"]),
        ("DUE TODAY", [f"#{audit} Send the file to audit; due 2026-03-02 12:00 {TZ}",
                       f"#{broker} Call the broker back; due 2026-03-02 17:00 {TZ}"]))
    sam = mails[("sam@example.com",)]
    assert sam.subject == "insurtrack: 1 due today — sam"
    assert sam.body.strip() == digest(
        ("DUE TODAY", [f"#{letter} Post the welcome letter — C-000001; due 2026-03-02 15:00 {TZ}"]))
    [post] = exactly(http_receiver, 1)
    assert post.path == "/sales"
    assert post.json["title"] == "insurtrack: 1 due today — sales"
    assert post.json["message"] == digest(
        ("DUE TODAY", [f"#{figures} Quarterly figures; due 2026-03-02 16:00 {TZ}"]))

    rows = outbox(cli.engine)
    assert {(r["followup_id"], r["stage"], r["recipient"]) for r in rows} == {
        (1, "warn", "dept:claims"), (audit, "due", "dept:claims"), (broker, "due", "dept:claims"),
        (figures, "due", "dept:sales"), (letter, "due", "staff:sam")}
    assert all(r["sent_at"] is not None and r["attempts"] == 1 and r["last_error"] is None
               and r["claimed_by"] for r in rows)
    nothing_new(cli, smtp_server, http_receiver)


# ------------------------------------------------------------------------------ stages, once each

def test_T9_warn_then_breach_each_once_and_the_breach_also_to_claims(cli, pol, smtp_server,
                                                                     http_receiver):
    """T9: reported 09:00, call back by 09:30, warned from 09:20. The handler (carl, email via
    staff_email_url) hears `warn` once and `breach` once; the claims department hears only the
    breach. Runs in between, and after, send nothing."""
    routes(cli, staff_email_url=email_template(smtp_server),
           departments={"claims": [http_receiver.url("/claims")]})
    cli.ok("claim", "report", pol, *REPORT, as_="carl")
    item = f"#1 T9 Call the claimant back (claim contact) — CL-000001 C-000001; due 2026-03-02 09:30 {TZ}"

    nothing_new(cli, smtp_server, http_receiver)  # 09:00: a minute target has no "due today"
    set_clock(cli, 2026, 3, 2, 9, 19)
    nothing_new(cli, smtp_server, http_receiver)

    set_clock(cli, 2026, 3, 2, 9, 20)
    assert "queued 1, sent 1 digest(s)" in notify_ok(cli).stderr
    [warn] = exactly(smtp_server, 1)
    assert warn.rcpt_tos == ("carl@example.com",)
    assert warn.subject == "insurtrack: 1 at risk — carl"
    assert warn.body.strip() == digest(("AT RISK", [item]))
    assert http_receiver.posts == []
    nothing_new(cli, smtp_server, http_receiver)
    set_clock(cli, 2026, 3, 2, 9, 29)
    nothing_new(cli, smtp_server, http_receiver)

    set_clock(cli, 2026, 3, 2, 9, 30)
    assert "queued 2, sent 2 digest(s)" in notify_ok(cli).stderr
    breach = exactly(smtp_server, 2)[1]
    assert breach.rcpt_tos == ("carl@example.com",)
    assert breach.subject == "insurtrack: 1 late — carl"
    assert breach.body.strip() == digest(("LATE", [item]))
    [post] = exactly(http_receiver, 1)
    assert (post.path, post.json["title"]) == ("/claims", "insurtrack: 1 late — claims")
    assert post.json["message"] == digest(("LATE", [item]))
    nothing_new(cli, smtp_server, http_receiver)
    set_clock(cli, 2026, 3, 3, 10, 0)
    nothing_new(cli, smtp_server, http_receiver)

    assert keys(cli.engine) == {(1, "warn", "staff:carl"), (1, "breach", "staff:carl"),
                                (1, "breach", "dept:claims")}


def test_a_day_item_is_due_then_at_risk_then_late_once_each(cli, http_receiver):
    """A manual item for sally (no channel of her own: her department hears), due by the end of
    Tuesday, warned 1 hour before: `due` on Tuesday, `warn` at 23:00, `breach` at midnight — one
    message each, and the breach is not doubled for the department that already hears it."""
    routes(cli, departments={"sales": [http_receiver.url("/sales")]})
    fu = manual(cli, "Renew the broker licence", "2026-03-03", "--to", "sally", "--warn", "1h")
    item = f"#{fu} Renew the broker licence; due 2026-03-03 24:00 {TZ}"

    nothing_new(cli, http=http_receiver)  # Monday
    expected = []
    for when, stage, title in [((2026, 3, 3, 0, 0), "DUE TODAY", "1 due today"),
                               ((2026, 3, 3, 23, 0), "AT RISK", "1 at risk"),
                               ((2026, 3, 4, 0, 0), "LATE", "1 late")]:
        set_clock(cli, *when)
        assert "queued 1, sent 1 digest(s)" in notify_ok(cli).stderr
        expected.append((f"insurtrack: {title} — sales", digest((stage, [item]))))
        got = exactly(http_receiver, len(expected))
        assert [(p.json["title"], p.json["message"]) for p in got] == expected
        nothing_new(cli, http=http_receiver)
    set_clock(cli, 2026, 3, 10, 9, 0)
    nothing_new(cli, http=http_receiver)
    assert keys(cli.engine) == {(fu, "due", "dept:sales"), (fu, "warn", "dept:sales"),
                                (fu, "breach", "dept:sales")}


# ------------------------------------------------------------------------------ failing channels

def test_http_500_exits_9_keeps_the_items_and_the_next_run_delivers_them_once(
        cli, smtp_server, http_receiver):
    """The sales webhook answers 500: exit 9, stderr names dept:sales and the webhook (without
    its password), nothing of it is marked sent — and the claims mail still goes out. Back up,
    the next run delivers exactly the kept items, once."""
    hook = secret_json_url(http_receiver, "sales")
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")],
                             "sales": [hook]})
    a = manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")
    b = manual(cli, "Visit the broker", "2026-03-02 11:00", "--dept", "sales")
    c = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    http_receiver.failing = True

    failed = cli("due", "--notify")

    assert failed.exit_code == 9, failed.stderr
    assert "Traceback" not in failed.stderr
    assert (f"could not notify dept:sales via json://127.0.0.1:{http_receiver.port}/sales: "
            in failed.stderr)
    assert "500" in failed.stderr and "(2 item(s) kept for the next run)" in failed.stderr
    assert "queued 3, sent 1 digest(s), 1 failed" in failed.stderr
    assert SECRET not in failed.stderr + failed.stdout
    [mail] = exactly(smtp_server, 1)  # the failing webhook did not hold up the mail
    assert mail.rcpt_tos == ("claims@example.com",) and f"#{c} Send the file to audit" in mail.body
    assert len(exactly(http_receiver, 1)) == 1  # tried once, answered 500
    rows = {r["followup_id"]: r for r in outbox(cli.engine)}
    for fu in (a, b):
        assert rows[fu]["sent_at"] is None and rows[fu]["claimed_at"] is None
        assert rows[fu]["attempts"] == 1 and "500" in rows[fu]["last_error"]
        assert SECRET not in rows[fu]["last_error"]
    assert rows[c]["sent_at"] is not None

    http_receiver.failing = False
    cli.clock.advance(minutes=5)
    out = notify_ok(cli)

    assert "queued 0, sent 1 digest(s)" in out.stderr
    posts = exactly(http_receiver, 2)
    assert posts[1].json["title"] == "insurtrack: 2 due today — sales"
    assert posts[1].json["message"] == digest(("DUE TODAY", [
        f"#{b} Visit the broker; due 2026-03-02 11:00 {TZ}",
        f"#{a} Quarterly figures; due 2026-03-02 16:00 {TZ}"]))
    assert len(smtp_server.messages) == 1
    rows = {r["followup_id"]: r for r in outbox(cli.engine)}
    assert all(rows[fu]["sent_at"] is not None and rows[fu]["attempts"] == 2
               and rows[fu]["last_error"] is None for fu in (a, b))
    nothing_new(cli, smtp_server, http_receiver)


def test_smtp_down_exits_9_and_nothing_is_lost_while_it_stays_down(cli, smtp_server,
                                                                    http_receiver):
    """The mail server is down for two runs: both exit 9 and keep everything (the item that
    went late meanwhile too), the webhook is served each time; back up, one mail brings the
    kept items — the one now late listed once, as late."""
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")],
                             "sales": [http_receiver.url("/sales")]})
    a = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    b = manual(cli, "Call the broker back", "2026-03-02 17:00", "--dept", "claims")
    s = manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")
    smtp_server.stop()

    first = cli("due", "--notify")
    assert first.exit_code == 9, first.stderr
    assert (f"could not notify dept:claims via mailto://127.0.0.1:{smtp_server.port}"
            f"/claims@example.com: " in first.stderr)
    assert "(2 item(s) kept for the next run)" in first.stderr
    [post] = exactly(http_receiver, 1)
    assert post.json["title"] == "insurtrack: 1 due today — sales"

    set_clock(cli, 2026, 3, 2, 12, 0)  # a is late now; still no mail server
    second = cli("due", "--notify")
    assert second.exit_code == 9 and "(3 item(s) kept for the next run)" in second.stderr
    assert len(http_receiver.posts) == 1
    assert all(r["sent_at"] is None for r in outbox(cli.engine) if r["recipient"] == "dept:claims")

    smtp_server.start()
    assert "queued 0, sent 1 digest(s)" in notify_ok(cli).stderr
    [mail] = exactly(smtp_server, 1)
    assert mail.subject == "insurtrack: 1 late, 1 due today — claims"
    assert mail.body.strip() == digest(
        ("LATE", [f"#{a} Send the file to audit; due 2026-03-02 12:00 {TZ}"]),
        ("DUE TODAY", [f"#{b} Call the broker back; due 2026-03-02 17:00 {TZ}"]))
    assert keys(cli.engine) == {(a, "due", "dept:claims"), (a, "breach", "dept:claims"),
                                (b, "due", "dept:claims"), (s, "due", "dept:sales")}
    assert all(r["sent_at"] is not None for r in outbox(cli.engine))
    nothing_new(cli, smtp_server, http_receiver)


# ------------------------------------------------------------------------------ overlapping runs

def _book_due_now(cli, smtp, http) -> dict[str, list[int]]:
    """Routes and a book whose items are late at the real wall clock (subprocesses and
    threads-with-a-real-run read it): made two hours ago, due an hour ago."""
    routes(cli, departments={"claims": [smtp.url(to="claims@example.com")],
                             "sales": [http.url("/sales")]},
           staff={"carl": [smtp.url(to="carl@example.com")]})
    made = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    cli.clock.instant = made
    by = (made + timedelta(minutes=61)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    claims = [manual(cli, f"Claims task {i}", by, "--dept", "claims") for i in range(3)]
    sales = [manual(cli, f"Sales task {i}", by, "--dept", "sales") for i in range(2)]
    carl = [manual(cli, "Carl's task", by, "--to", "carl")]
    return {"claims": claims + carl, "sales": sales, "carl": carl}


def _check_once_each(smtp, http, book) -> None:
    mails = exactly(smtp, 2)
    assert sorted(x.rcpt_tos for x in mails) == [("carl@example.com",), ("claims@example.com",)]
    posts = exactly(http, 1)
    got = {"claims": mails[[x.rcpt_tos for x in mails].index(("claims@example.com",))].body,
           "carl": mails[[x.rcpt_tos for x in mails].index(("carl@example.com",))].body,
           "sales": posts[0].json["message"]}
    for who, ids in book.items():
        assert got[who].startswith(f"LATE ({len(ids)})\n"), got[who]
        for fu in ids:
            assert got[who].count(f"#{fu} ") == 1, (who, fu, got[who])


def test_overlapping_cron_runs_send_each_message_once(cli, smtp_server, http_receiver):
    """Two `python -m insurtrack due --notify` processes started together against the same
    store: every digest arrives exactly once, every outbox row was queued by one run and sent
    by one run."""
    book = _book_due_now(cli, smtp_server, http_receiver)
    env = {**os.environ, "INSURTRACK_DB": cli.db_url, "INSURTRACK_CONFIG": cli.config_path,
           "INSURTRACK_USER": "boss", "NO_COLOR": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "insurtrack", "due", "--notify"], env=env,
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.returncode, *out) for p, out in ((p, p.communicate(timeout=60)) for p in procs)]

    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    _check_once_each(smtp_server, http_receiver, book)
    rows = outbox(cli.engine)
    assert len(rows) == 7  # 6 items; carl's late task also to claims
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows)
    queued = sent = 0
    for _, _, err in results:
        line = next(x for x in err.splitlines() if x.startswith("queued "))
        q, s = line.removeprefix("queued ").split(", sent ")
        queued, sent = queued + int(q), sent + int(s.split()[0])
    assert (queued, sent) == (7, 3)


def test_concurrent_runs_in_threads_claim_disjoint_rows(cli, staff, smtp_server, http_receiver):
    """Four notify.run calls released together (threads, each with its own connections): the
    outbox insert and the lease keep every message single."""
    book = _book_due_now(cli, smtp_server, http_receiver)
    settings = config.load(cli.config_path, {})
    clock = FixedClock(datetime.now(timezone.utc))
    engines = [db.make_engine(cli.db_url) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    reports, errors = [], []

    def one(engine):
        try:
            barrier.wait(timeout=10)
            reports.append(notify.run(engine, settings, clock, staff["boss"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for e in engines:
        e.dispose()

    assert errors == []
    assert sum(r.queued for r in reports) == 7
    assert sum(len(r.sent) for r in reports) == 3 and not any(r.failed for r in reports)
    _check_once_each(smtp_server, http_receiver, book)


def test_a_dead_runs_lease_blocks_others_until_it_expires(cli, work, smtp_server):
    """Rows claimed by a run that died (claimed_at set, never sent) are left alone for
    notify.lease_minutes, then taken and delivered once."""
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")]},
           lease_minutes=10)
    settings = config.load(cli.config_path, {})
    with work("boss") as w:
        fu = svc.add(w, title="Send the file to audit", due=local(2026, 3, 2, 17, 0),
                     department=Department.CLAIMS).id
    with db.write(cli.engine) as s:
        boss = s.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
        w = Work(session=s, actor=boss, clock=cli.clock, settings=settings)
        assert notify.enqueue(w, cli.clock.now()) == (1, [])
        s.execute(update(m.Outbox).values(claimed_at=cli.clock.now(), claimed_by="dead-run"))

    for minutes in (0, 5, 9, 10):
        set_clock(cli, 2026, 3, 2, 9, minutes)
        report = notify.run(cli.engine, settings, cli.clock, boss)
        assert (report.queued, report.sent, report.failed) == (0, [], [])
        [row] = outbox(cli.engine)
        assert (row["claimed_by"], row["sent_at"]) == ("dead-run", None)
    assert smtp_server.messages == []

    set_clock(cli, 2026, 3, 2, 9, 11)
    report = notify.run(cli.engine, settings, cli.clock, boss)

    assert [d.recipient for d in report.sent] == ["dept:claims"]
    [mail] = exactly(smtp_server, 1)
    assert f"#{fu} Send the file to audit" in mail.body
    [row] = outbox(cli.engine)
    assert row["claimed_by"] != "dead-run" and row["sent_at"] is not None and row["attempts"] == 1
    assert notify.run(cli.engine, settings, cli.clock, boss).sent == []
    assert len(smtp_server.messages) == 1


# ------------------------------------------------------------------------------ closed meanwhile

def test_an_item_closed_before_delivery_is_skipped_and_not_retried(cli, http_receiver):
    """Queued while the webhook was down, then done: the next run sends the other item only,
    marks the closed one as not sent, and never tries it again."""
    routes(cli, departments={"claims": [http_receiver.url("/claims")]})
    a = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    b = manual(cli, "Call the broker back", "2026-03-02 17:00", "--dept", "claims")
    http_receiver.failing = True
    assert cli("due", "--notify").exit_code == 9
    cli.ok("due", "done", str(a), "--note", "sent by courier")
    http_receiver.failing = False
    cli.clock.advance(minutes=1)

    notify_ok(cli)

    posts = exactly(http_receiver, 2)
    assert posts[1].json["message"] == digest(
        ("DUE TODAY", [f"#{b} Call the broker back; due 2026-03-02 17:00 {TZ}"]))
    rows = {r["followup_id"]: r for r in outbox(cli.engine)}
    assert rows[a]["sent_at"] is not None
    assert rows[a]["last_error"] == "not sent: closed before delivery"
    assert rows[a]["attempts"] == 1  # the failed try only
    assert rows[b]["attempts"] == 2 and rows[b]["last_error"] is None
    before = outbox(cli.engine)
    nothing_new(cli, http=http_receiver)
    set_clock(cli, 2026, 3, 2, 18, 0)  # b is late now: that is a new stage, a is still not sent
    assert "queued 1, sent 1 digest(s)" in notify_ok(cli).stderr
    assert exactly(http_receiver, 3)[2].json["title"] == "insurtrack: 1 late — claims"
    assert [r for r in outbox(cli.engine) if r["followup_id"] == a] == [
        r for r in before if r["followup_id"] == a]


def test_closed_between_queueing_and_delivery_in_one_run_sends_no_digest(cli, work, smtp_server):
    """Service level: rows queued, then the item is done before a run delivers: the run
    skips them, sends nothing, and a later run claims nothing."""
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")]})
    settings = config.load(cli.config_path, {})
    with work("carl") as w:
        fu = svc.add(w, title="Send the file to audit", due=local(2026, 3, 2, 17, 0),
                     department=Department.CLAIMS).id
    with db.write(cli.engine) as s:
        carl = s.execute(select(m.Staff).where(m.Staff.code == "carl")).scalar_one()
        assert notify.enqueue(Work(session=s, actor=carl, clock=cli.clock, settings=settings),
                              cli.clock.now()) == (1, [])
    with work("carl") as w:
        svc.done(w, str(fu))

    with db.write(cli.engine) as s:  # cron's user: service or manager (not claims' carl)
        boss = s.execute(select(m.Staff).where(m.Staff.code == "boss")).scalar_one()
    report = notify.run(cli.engine, settings, cli.clock, boss)

    assert (report.skipped, report.sent, report.failed) == (1, [], [])
    [row] = outbox(cli.engine)
    assert row["sent_at"] is not None and row["last_error"] == "not sent: closed before delivery"
    again = notify.run(cli.engine, settings, cli.clock, boss)
    assert (again.queued, again.skipped, again.sent) == (0, 0, [])
    assert outbox(cli.engine) == [row]
    assert smtp_server.messages == []


# ------------------------------------------------------------------------------ dry run

def test_dry_run_prints_the_digests_and_changes_and_sends_nothing(cli, pol, smtp_server,
                                                                   http_receiver):
    routes(cli, departments={"claims": [smtp_server.url(to="claims@example.com")],
                             "sales": [secret_json_url(http_receiver, "sales")]})
    cli.ok("claim", "report", pol, *REPORT, "--at", "25m ago", as_="carl")
    audit = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    figures = manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")
    before = snapshot(cli.engine)

    table = cli.ok("due", "--notify", "--dry-run")
    shown = cli.json("due", "--notify", "--dry-run")

    assert snapshot(cli.engine) == before
    assert smtp_server.messages == [] and http_receiver.posts == []
    assert "Would send" in table.stdout and "dept:claims" in table.stdout
    assert "insurtrack: 1 at risk, 1 due today — claims" in table.stdout
    assert SECRET not in table.stdout + table.stderr + json.dumps(shown)
    assert shown == [
        {"recipient": "dept:claims",
         "channel": f"mailto://127.0.0.1:{smtp_server.port}/claims@example.com", "items": 2,
         "title": "insurtrack: 1 at risk, 1 due today — claims",
         "body": digest(("AT RISK", [f"#1 T9 Call the claimant back (claim contact) — CL-000001 "
                                     f"C-000001; due 2026-03-02 09:05 {TZ}"]),
                        ("DUE TODAY", [f"#{audit} Send the file to audit; due 2026-03-02 12:00 {TZ}"]))},
        {"recipient": "dept:sales", "channel": f"json://127.0.0.1:{http_receiver.port}/sales",
         "items": 1, "title": "insurtrack: 1 due today — sales",
         "body": digest(("DUE TODAY", [f"#{figures} Quarterly figures; due 2026-03-02 16:00 {TZ}"]))}]

    notify_ok(cli)  # what the dry run showed is what goes out
    [mail] = exactly(smtp_server, 1)
    [post] = exactly(http_receiver, 1)
    assert (mail.subject, mail.body.strip()) == (shown[0]["title"], shown[0]["body"])
    assert (post.json["title"], post.json["message"]) == (shown[1]["title"], shown[1]["body"])
    assert cli.json("due", "--notify", "--dry-run") == []


# ------------------------------------------------------------------------------ no channel, secrets

def test_a_recipient_without_a_channel_is_reported_and_the_others_served(cli, http_receiver):
    routes(cli, departments={"sales": [http_receiver.url("/sales")]})
    manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    manual(cli, "Decide on the odd case", "2026-03-02 12:00", "--to", "uma")
    manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")

    out = notify_ok(cli)

    assert "no channel configured for dept:claims" in out.stderr
    assert "no channel configured for dept:underwriting" in out.stderr  # uma has none either
    assert "queued 1, sent 1 digest(s)" in out.stderr and "Traceback" not in out.stderr
    assert exactly(http_receiver, 1)[0].json["title"] == "insurtrack: 1 due today — sales"
    assert {r["recipient"] for r in outbox(cli.engine)} == {"dept:sales"}


def test_secrets_never_reach_the_outbox_or_the_output(cli, smtp_server, http_receiver):
    """Webhook and mail URLs with passwords: the outbox keeps a hash of the URL and a redacted
    label; failure reasons, stderr and json output never show the password."""
    hook = secret_json_url(http_receiver, "sales")
    port = smtp_server.port
    mail = (f"mailto://bot:{SECRET}@127.0.0.1:{port}?smtp=127.0.0.1&mode=insecure"
            "&from=insurtrack@example.com&to=claims@example.com")
    routes(cli, departments={"claims": [mail], "sales": [hook]})
    manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    manual(cli, "Quarterly figures", "2026-03-02 16:00", "--dept", "sales")
    smtp_server.stop()

    result = cli("due", "--notify", "--format", "json")

    assert result.exit_code == 9
    assert SECRET not in result.stderr + result.stdout
    assert {(r["recipient"], r["status"]) for r in json.loads(result.stdout)} == {
        ("dept:claims", "failed"), ("dept:sales", "sent")}
    [post] = exactly(http_receiver, 1)
    assert post.headers["Authorization"].startswith("Basic ")  # the password was used, not shown
    rows = {r["recipient"]: r for r in outbox(cli.engine)}
    assert rows["dept:claims"]["channel"] == notify.channel_key(mail)
    assert rows["dept:sales"]["channel"] == notify.channel_key(hook)
    assert rows["dept:claims"]["channel_label"] == f"mailto://127.0.0.1:{port}/claims@example.com"
    assert rows["dept:sales"]["channel_label"] == f"json://127.0.0.1:{http_receiver.port}/sales"
    assert rows["dept:claims"]["last_error"]
    assert SECRET not in repr(snapshot(cli.engine))


def test_a_channel_replaced_in_the_config_does_not_fail_every_run(cli, http_receiver):
    """The webhook's password is rotated while a delivery to the old URL is pending: the rows
    for the old URL are set aside (it is no longer configured: no exit 9 run after run), and
    the items still due reach the department through the new URL, once."""
    old = secret_json_url(http_receiver, "claims")
    routes(cli, departments={"claims": [old]})
    fu = manual(cli, "Send the file to audit", "2026-03-02 12:00", "--dept", "claims")
    http_receiver.failing = True
    assert cli("due", "--notify").exit_code == 9
    http_receiver.failing = False
    path = Path(cli.config_path)
    new = old.replace(SECRET, "n3wSecret")
    path.write_text(path.read_text(encoding="utf-8").replace(json.dumps(old), json.dumps(new)),
                    encoding="utf-8")
    assert [d["items"] for d in cli.json("due", "--notify", "--dry-run")] == [1]

    out = notify_ok(cli)

    assert "no longer configured" in out.stderr and "dept:claims" in out.stderr
    assert SECRET not in out.stderr and "n3wSecret" not in out.stderr
    posts = exactly(http_receiver, 2)
    assert posts[1].json["message"] == digest(
        ("DUE TODAY", [f"#{fu} Send the file to audit; due 2026-03-02 12:00 {TZ}"]))
    rows = {r["channel"]: r for r in outbox(cli.engine)}
    assert rows[notify.channel_key(old)]["last_error"] == "not sent: channel no longer configured"
    assert rows[notify.channel_key(old)]["sent_at"] is not None
    assert rows[notify.channel_key(new)]["last_error"] is None
    nothing_new(cli, http=http_receiver)
